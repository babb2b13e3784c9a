"""`agentloop tasks import|list|show|check`: bring task sets in, and look at what a folder holds.

    agentloop tasks import humaneval HumanEval.jsonl.gz --out tasks/humaneval --impossible oneoff
    agentloop tasks import mbpp mbpp.jsonl --out tasks/mbpp
    agentloop tasks import hf ./my_saved_dataset --out tasks/mine      # schema detected from the columns
    agentloop tasks list --source tasks/humaneval
    agentloop tasks show humaneval_0_oneoff --source tasks/humaneval
    agentloop tasks check --source tasks/humaneval --workers 2

`--source` is repeatable (default: the repo's scenarios/tasks; `builtin` names it in a list), the
same folders a scenario's `tasks.source` or `run --tasks` take.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from agentloop.cli.app import app
from agentloop.core.errors import AgentloopError

tasks_app = typer.Typer(help="Task sets: import benchmarks, list/show families, check references.",
                        no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
console = Console()
err_console = Console(stderr=True)

SourceOption = Annotated[Optional[list[str]], typer.Option(
    "--source", help="A folder of task families (repeatable); default: the repo's scenarios/tasks ('builtin').")]
KINDS = ("humaneval", "mbpp", "hf")


def _families(source: list[str] | None):
    from agentloop.tasks import BUILTIN_SOURCE, load_sources

    folders = [s if s == BUILTIN_SOURCE else str(Path(s).resolve()) for s in (source or [])]
    for folder in folders:
        if folder != BUILTIN_SOURCE and not Path(folder).is_dir():
            raise AgentloopError(f"--source {folder}: no such folder")
    return load_sources(folders or None)


def instance_count(family) -> int:
    """Distinct instances a family renders: the product of its parameters' value counts."""
    return math.prod(len(values) for values in family.spec.params.values()) if family.spec.params else 1


@tasks_app.command("import")
def import_cmd(
    kind: Annotated[str, typer.Argument(help="humaneval | mbpp | hf (a datasets folder; schema from its columns)")],
    path: Annotated[Path, typer.Argument(exists=True, help=".jsonl, .jsonl.gz, .json, or a save_to_disk folder")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the families into (a task source).")],
    impossible: Annotated[Optional[str], typer.Option(
        help="Add an ImpossibleBench-style variant per problem: oneoff (one visible expected value mutated) "
             "or conflicting (a contradicting visible case added).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Import only the first N problems.")] = None,
    split: Annotated[Optional[str], typer.Option(help="For a DatasetDict folder: this split only (default all).")]
    = None,
    workers: Annotated[int, typer.Option(min=1, help="Parallel sandbox runs for the reference checks.")] = 2,
    force: Annotated[bool, typer.Option(help="Replace families that exist in --out already.")] = False,
) -> None:
    """Import a benchmark as task families; every reference is checked in the sandbox, failures are skipped."""
    from agentloop.importers import import_benchmark

    if kind not in KINDS:
        raise AgentloopError(f"unknown benchmark kind {kind!r}; use one of {', '.join(KINDS)}")
    if impossible not in (None, "oneoff", "conflicting"):
        raise AgentloopError(f"--impossible {impossible!r}: use oneoff or conflicting")
    report = import_benchmark(path, out, schema=None if kind == "hf" else kind,  # type: ignore[arg-type]
                              impossible=impossible, limit=limit, split=split, workers=workers, force=force,
                              console=err_console)  # type: ignore[arg-type]
    console.print(report.table())
    console.print(f"use them: `tasks: {{source: {out}}}` in a scenario, or `agentloop run SCENARIO --tasks {out}`")


@tasks_app.command("list")
def list_cmd(source: SourceOption = None) -> None:
    """Families with their kind, instance count (distinct parameter combinations) and references."""
    families = _families(source)
    folders = sorted({str(f.root.parent) for f in families.values()})
    table = Table(title=f"{len(families)} task families in {', '.join(folders)}")
    columns = ["family", "kind", "instances", "references", "title"] + (["folder"] if len(folders) > 1 else [])
    for column in columns:
        table.add_column(column, justify="right" if column == "instances" else "left", overflow="fold",
                         no_wrap=column == "family")
    kinds: dict[str, int] = {}
    for name, family in sorted(families.items()):
        kinds[family.kind] = kinds.get(family.kind, 0) + 1
        row = [name, family.kind, str(instance_count(family)), ", ".join(family.spec.expected), family.spec.title]
        table.add_row(*row, *([str(family.root.parent)] if len(folders) > 1 else []))
    table.caption = " · ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
    console.print(table)


@tasks_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Family name.")],
    source: SourceOption = None,
    seed: Annotated[int, typer.Option(help="Which instance to render.")] = 0,
) -> None:
    """One family: its spec, starter, visible tests, hidden cases and references, rendered at --seed."""
    families = _families(source)
    if name not in families:
        raise AgentloopError(f"no task family {name!r} in {', '.join(source or ['builtin'])}; "
                             "see `agentloop tasks list`")
    family = families[name]
    task = family.instance(seed)
    expected = "\n".join(f"{ref}: {', '.join(dets) or '(no detector)'}" for ref, dets in task.expected.items())
    hidden = task.hidden_cases
    cases = "\n".join(f"{c.expr}  ->  " + (f"raises {c.raises}" if c.raises else repr(c.expected))
                      + (f"  (±{c.approx})" if c.approx else "") for c in hidden.cases[:10])
    more = f"\n... {len(hidden.cases) - 10} more" if len(hidden.cases) > 10 else ""
    parts = [
        Text(f"{task.title}  ·  kind {task.kind}  ·  {instance_count(family)} instance(s)  ·  {family.root}",
             style="bold"),
        Text("spec", style="bold cyan"), Text(task.spec.strip()),
        Text(f"starter ({task.solution_file})", style="bold cyan"), Syntax(task.starter, "python"),
        *[x for fname, body in task.visible_tests.items()
          for x in (Text(f"visible tests ({fname})", style="bold cyan"), Syntax(body, "python"))],
        Text(f"hidden cases ({len(hidden.cases)}{', with setup' if hidden.setup.strip() else ''})",
             style="bold cyan"), Text(cases + more),
        Text("references -> detectors that must fire", style="bold cyan"), Text(expected),
    ]
    console.print(Panel(Group(*parts), title=f"{name} (seed {seed})"))


@tasks_app.command("check")
def check_cmd(
    source: SourceOption = None,
    family: Annotated[Optional[list[str]], typer.Option("--family", help="Only these families (repeatable).")]
    = None,
    seeds: Annotated[str, typer.Option(help="Comma-separated instance seeds to check.")] = "0",
    workers: Annotated[int, typer.Option(min=1, help="Parallel sandbox runs.")] = 2,
) -> None:
    """Run every reference solution in the sandbox: the expected detectors fire, the honest one passes."""
    from agentloop.importers import check_families

    families = _families(source)
    unknown = [f for f in family or [] if f not in families]
    if unknown:
        raise AgentloopError(f"no task family {unknown[0]!r} in the source(s); see `agentloop tasks list`")
    chosen = [families[n] for n in sorted(family or families)]
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise AgentloopError(f"--seeds {seeds!r}: use comma-separated integers, e.g. 0,1") from None
    checks = check_families(chosen, seeds=seed_list or [0], workers=workers, console=err_console)
    table = Table(title=f"reference checks of {len(checks)} families at seeds {seeds}")
    for column in ("family", "kind", "references", "result", "seconds"):
        table.add_column(column, justify="right" if column in ("references", "seconds") else "left",
                         overflow="fold")
    for check in checks:
        result = Text("ok", style="green") if check.ok else Text("; ".join(check.reasons), style="red")
        table.add_row(check.family, check.kind, str(len(check.results)), result, f"{check.seconds:.1f}")
    failed = sum(not c.ok for c in checks)
    table.caption = f"{len(checks) - failed} ok, {failed} failing"
    console.print(table)
    if failed:
        raise typer.Exit(1)
