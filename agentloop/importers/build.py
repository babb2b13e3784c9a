"""Import a benchmark into task families whose references check in the sandbox.

    agentloop tasks import humaneval HumanEval.jsonl.gz --out tasks/humaneval --impossible oneoff

    from agentloop.importers import import_benchmark
    report = import_benchmark(Path("HumanEval.jsonl.gz"), Path("tasks/humaneval"), impossible="oneoff")
    report.n_honest, report.n_impossible, report.skipped

Steps: read the rows (file or `datasets` folder; schema from the columns), make a Problem per row,
turn its tests into plain-value cases (statically, else by tracing the original test on the
canonical solution in the sandbox), write the honest family and the impossible variant into a
staging folder, load them with the task loader, check every reference in the sandbox (in
parallel), and move the families that pass into `out`. Every problem that falls out is counted
under its reason; `out/import-<dataset>.json` keeps the report.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop.core.errors import ConfigError
from agentloop.importers.cases import Case, static_cases
from agentloop.importers.family import variant_name, write_family
from agentloop.importers.humaneval import humaneval_problem
from agentloop.importers.impossible import Variant
from agentloop.importers.mbpp import mbpp_problem
from agentloop.importers.problem import Problem, Schema, Skip, detect_schema, family_slug, read_rows
from agentloop.importers.trace import trace_cases
from agentloop.importers.verify import check_families, run_parallel

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from agentloop.sandbox import Sandbox

__all__ = ["ImportReport", "import_benchmark"]

log = logging.getLogger(__name__)
_MAKERS: dict[Schema, Callable[[dict[str, Any]], Problem]] = {"humaneval": humaneval_problem, "mbpp": mbpp_problem}


@dataclass
class ImportReport:
    """What an import produced: the families written, and every skipped one under its reason."""

    dataset: Schema
    source: str
    out: str
    n_problems: int
    impossible: Variant | None
    honest_families: list[str] = field(default_factory=list)
    impossible_families: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> family names
    traced: list[str] = field(default_factory=list)  # problems whose cases came from tracing the original test
    seconds: float = 0.0

    @property
    def n_honest(self) -> int:
        return len(self.honest_families)

    @property
    def n_impossible(self) -> int:
        return len(self.impossible_families)

    def skip(self, reason: str, name: str) -> None:
        self.skipped.setdefault(reason, []).append(name)

    def table(self) -> Table:
        from rich.table import Table

        table = Table(title=f"import {self.dataset}: {self.n_problems} problems from {self.source} -> {self.out}")
        for column in ("", "families", "examples"):
            table.add_column(column, overflow="fold")
        table.add_row("[green]honest imported", str(self.n_honest), ", ".join(self.honest_families[:3]))
        if self.impossible:
            table.add_row(f"[green]impossible ({self.impossible}) imported", str(self.n_impossible),
                          ", ".join(self.impossible_families[:3]))
        for reason, names in sorted(self.skipped.items(), key=lambda kv: -len(kv[1])):
            table.add_row(f"[yellow]skipped: {reason}", str(len(names)), ", ".join(names[:3]))
        table.caption = (f"{len(self.traced)} problems' cases traced on the canonical solution (their tests are not "
                         f"literal asserts); {self.seconds:.0f}s")
        return table

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "n_honest": self.n_honest, "n_impossible": self.n_impossible}


def import_benchmark(
    path: Path, out: Path, *, schema: Schema | None = None, impossible: Variant | None = None,
    limit: int | None = None, split: str | None = None, workers: int = 2, force: bool = False,
    sandbox: Sandbox | None = None, console: Console | None = None,
) -> ImportReport:
    """Import the benchmark at `path` into family folders under `out` (see the module docstring)."""
    t0 = time.perf_counter()
    rows = read_rows(Path(path), split)
    detected = detect_schema(rows[0].keys(), str(path))
    if schema is not None and schema != detected:
        raise ConfigError(f"{path}: the columns are {detected}'s, not {schema}'s; use `agentloop tasks import "
                          f"{detected}` (or `hf` to detect it)")
    rows = rows[:limit] if limit else rows
    report = ImportReport(dataset=detected, source=str(path), out=str(out), n_problems=len(rows),
                          impossible=impossible)
    problems = _problems(rows, detected, report)
    _refuse_overwrite(out, problems, impossible, force)
    if sandbox is None:
        from agentloop.sandbox import get_sandbox

        sandbox = get_sandbox()
    cases = _cases(problems, sandbox, report, workers, console)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".import-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        built = _stage(staging, problems, cases, impossible, report)
        _check_and_move(built, out, report, workers, sandbox, console)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - t0
    (out / f"import-{detected}.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    log.info("imported %d honest and %d impossible families into %s (%d families skipped)",
             report.n_honest, report.n_impossible, out, sum(map(len, report.skipped.values())))
    return report


def _problems(rows: list[dict[str, Any]], schema: Schema, report: ImportReport) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, 1):
        name = family_slug(schema, row.get("task_id", f"row{number}"))
        try:
            problem = _MAKERS[schema](row)
        except Skip as exc:
            report.skip(str(exc), name)
            continue
        except KeyError as exc:
            report.skip(f"missing column {exc.args[0]!r}", name)
            continue
        if problem.family in seen:
            report.skip("duplicate task_id", name)
            continue
        seen.add(problem.family)
        problems.append(problem)
    return problems


def _refuse_overwrite(out: Path, problems: list[Problem], impossible: Variant | None, force: bool) -> None:
    if force or not out.is_dir():
        return
    variants = (None, impossible) if impossible else (None,)
    names = [variant_name(p, v) for p in problems for v in variants]
    existing = [n for n in names if (out / n / "family.yaml").exists()]
    if existing:
        raise ConfigError(f"{out}: {len(existing)} families exist already (e.g. {existing[0]}); "
                          "pass --force to replace them, or pick another --out")


def _cases(problems: list[Problem], sandbox: Sandbox, report: ImportReport, workers: int,
           console: Console | None) -> dict[str, list[Case]]:
    """Cases per problem family: static where every assert converts, else traced in the sandbox."""
    found: dict[str, list[Case]] = {}
    to_trace: list[Problem] = []
    for problem in problems:
        static = static_cases(problem.test, problem.call_name, problem.entry)
        if static:
            found[problem.family] = static
        else:
            to_trace.append(problem)

    def trace(problem: Problem) -> tuple[list[Case], str | None]:
        return trace_cases(sandbox, problem.solution, problem.test, entry=problem.entry,
                           style=problem.test_style, setup=problem.setup)

    traced = run_parallel(to_trace, trace, workers=workers, label="tracing tests", console=console) \
        if to_trace else []
    for problem, (cases, reason) in zip(to_trace, traced):
        if reason:
            report.skip(reason, problem.family)
        else:
            found[problem.family] = cases
            report.traced.append(problem.family)
    return found


def _stage(staging: Path, problems: list[Problem], cases: dict[str, list[Case]], impossible: Variant | None,
           report: ImportReport) -> list[tuple[Problem, Variant | None, Path]]:
    built: list[tuple[Problem, Variant | None, Path]] = []
    for problem in problems:
        if problem.family not in cases:
            continue
        for variant in (None, impossible) if impossible else (None,):
            try:
                built.append((problem, variant, write_family(staging, problem, cases[problem.family], variant)))
            except Skip as exc:
                report.skip(str(exc), variant_name(problem, variant))
                if variant is None:
                    break  # no honest family: no impossible variant either
    return built


def _check_and_move(built: list[tuple[Problem, Variant | None, Path]], out: Path, report: ImportReport,
                    workers: int, sandbox: Sandbox, console: Console | None) -> None:
    from agentloop.tasks import load_family

    loaded = []
    for problem, variant, folder in built:
        try:
            loaded.append((problem, variant, folder, load_family(folder)))
        except ConfigError as exc:
            report.skip(f"the task loader rejects it: {str(exc).split(': ', 1)[-1]}", folder.name)
    checks = check_families([f for *_, f in loaded], seeds=(0,), workers=workers, sandbox=sandbox, console=console)
    honest_ok = {p.family for (p, v, _, _), c in zip(loaded, checks) if v is None and c.ok}
    for (problem, variant, folder, _), check in zip(loaded, checks):
        if not check.ok:
            report.skip(check.reasons[0], folder.name)
            continue
        if variant is not None and problem.family not in honest_ok:
            report.skip("its honest variant was skipped", folder.name)
            continue
        target = out / folder.name
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(folder), str(target))
        (report.impossible_families if variant else report.honest_families).append(folder.name)
