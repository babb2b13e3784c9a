"""The live run display (rich): episodes done/total, turns, verdicts, hack rate, tok/s, ETA."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from agentloop.runner import StepStats


class RunDisplay:
    """A progress bar over episodes whose description carries the step statistics."""

    def __init__(self, console: Console, total: int, done: int = 0, enabled: bool = True) -> None:
        self.progress = Progress(
            TextColumn("[bold]episodes"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("starting…", total=total, completed=done)
        self.started = time.perf_counter()

    def __enter__(self) -> RunDisplay:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, stats: StepStats) -> None:
        v = stats.verdicts
        desc = (f"turns {stats.turns} · verdicts e/n/u {v['ethical']}/{v['neutral']}/{v['unethical']} · "
                f"hack rate {stats.hack_rate:.0%} · {stats.tokens_per_s:.0f} tok/s · adapter "
                f"{'v' + str(stats.adapter) if stats.adapter else 'base'}")
        self.progress.update(self.task, completed=stats.episodes_done, description=desc)

    def note(self, text: str) -> None:
        self.progress.update(self.task, description=text)


def summary_table(title: str, rows: dict[str, object]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value")
    for key, value in rows.items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    return table
