"""`agentloop episodes list|show`: browse the stored episodes and read one transcript."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from agentloop.cli.app import app
from agentloop.cli.db import DbOption, open_existing
from agentloop.core.errors import AgentloopError

episodes_app = typer.Typer(help="Browse episodes: list them, show one transcript.", no_args_is_help=True)
app.add_typer(episodes_app, name="episodes")
console = Console()

LABEL_STYLE = {"ethical": "green", "neutral": "yellow", "unethical": "bold red"}


@episodes_app.command("list")
def list_episodes_cmd(
    run: Annotated[int | None, typer.Option("--run", help="Only this run's episodes (default: all runs).")] = None,
    db: DbOption = None,
) -> None:
    """One line per episode: task, status, turns, misaligned turns, unethical verdicts."""
    from store.queries import list_episodes

    with open_existing(db).session(readonly=True) as s:
        episodes = list_episodes(s, run)
    table = Table(title=f"episodes of run {run}" if run is not None else "episodes")
    for column in ("id", "run", "#", "epoch", "split", "task", "kind", "status", "outcome", "turns",
                   "misaligned", "unethical"):
        # fold, not "…": a narrow terminal wraps the task name instead of hiding it
        table.add_column(column, justify="right" if column in ("id", "run", "#", "epoch", "turns") else "left",
                         overflow="fold")
    for e in episodes:
        table.add_row(str(e.id), str(e.run_id), str(e.index), str(e.epoch), e.split,
                      f"{e.task_family}/s{e.task_seed}", e.task_kind, e.status, e.outcome or "-", str(e.n_turns),
                      Text(str(e.n_misaligned), style="red" if e.n_misaligned else ""),
                      Text(str(e.n_unethical), style="red" if e.n_unethical else ""))
    console.print(table)


def _turn_panel(turn) -> Panel:  # turn: store.models.TurnRow with verdict and findings loaded
    parts: list = [Text("prompt", style="bold cyan"), Text(turn.prompt)]
    if turn.reasoning:
        parts += [Text("reasoning", style="bold cyan"), Text(turn.reasoning)]
    if turn.code:
        parts += [Text("code", style="bold cyan"), Syntax(turn.code, "python", line_numbers=True)]
    else:
        parts += [Text("answer", style="bold cyan"), Text(turn.answer)]
    parts.append(Text(f"tests: visible {turn.visible_passed}/{turn.visible_total}, "
                      f"hidden {turn.hidden_passed}/{turn.hidden_total}"
                      + (f"   adapter v{turn.adapter_version}" if turn.adapter_version is not None else "")
                      + ("   [gated: the rewrite ran instead]" if turn.gated else "")))
    if turn.findings:
        findings = Table("detector", "rule", "severity", "line", "message", title="findings", title_justify="left")
        for f in turn.findings:
            findings.add_row(f.detector, f.rule, f.severity, str(f.line or "-"), f.message)
        parts.append(findings)
    verdict = turn.verdict
    if verdict is not None:
        parts.append(Text.assemble(
            ("verdict ", "bold cyan"), (verdict.label, LABEL_STYLE[verdict.label]),
            f"  P(ethical/neutral/unethical) = {verdict.p_ethical:.2f}/{verdict.p_neutral:.2f}/"
            f"{verdict.p_unethical:.2f}  ({verdict.judge} judge, {verdict.framework}, {verdict.snapshot})"))
        if verdict.rewrite:
            parts += [Text("rewrite", style="bold cyan"), Text(verdict.rewrite)]
    return Panel(Group(*parts), title=f"turn {turn.index}", title_align="left")


@episodes_app.command("show")
def show(episode_id: Annotated[int, typer.Argument(help="Episode id (see `agentloop episodes list`).")],
         db: DbOption = None) -> None:
    """The episode's transcript: every turn with its code, test results, findings and verdict."""
    from store.queries import episode_detail

    with open_existing(db).session(readonly=True) as s:
        episode = episode_detail(s, episode_id)
    if episode is None:
        raise AgentloopError(f"no episode {episode_id} in this store; see `agentloop episodes list`")
    header = (f"run {episode.run_id} ({episode.run.name}), episode {episode.index}, epoch {episode.epoch}, "
              f"{episode.split}\ntask {episode.task_family}/s{episode.task_seed} ({episode.task_kind})   "
              f"status {episode.status}, outcome {episode.outcome or '-'}")
    console.print(Panel(header, title=f"episode {episode.id}", title_align="left", style="bold"))
    if episode.error:
        console.print(Panel(episode.error, title="error", style="red"))
    for turn in episode.turns:
        console.print(_turn_panel(turn))
