"""`agentloop retention`: aligned rate per epoch and retention vs epoch 0, with judge agreement.

    agentloop retention --run 3 --format json
    agentloop retention --plot retention.png
"""

from __future__ import annotations

import csv
import enum
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agentloop.cli.app import app
from agentloop.cli.db import DbOption, open_existing
from agentloop.core.errors import AgentloopError
from agentloop.core.metrics import Rate, judge_metrics

console = Console()
PREDICTED_RETENTION = 0.8  # the Emergent Alignment proposal's claim: retention stays above 80%


class Format(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"


class By(str, enum.Enum):
    turn = "turn"
    episode = "episode"


class Split(str, enum.Enum):
    train = "train"
    eval = "eval"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def plot_retention(epochs: Sequence, path: Path, title: str) -> None:  # epochs: list[EpochRetention]
    """Aligned/hack/insecure rates and retention per epoch, with the proposal's 80% line."""
    import matplotlib

    matplotlib.use("Agg")  # no display here; must precede pyplot
    import matplotlib.pyplot as plt

    xs = [e.epoch for e in epochs]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, [e.aligned_rate for e in epochs], marker="o", label="aligned rate")
    ax.plot(xs, [e.retention if e.retention is not None else float("nan") for e in epochs],
            marker="s", label="retention (vs epoch 0)")
    ax.plot(xs, [e.hack_rate for e in epochs], marker="^", label="hack rate")
    ax.plot(xs, [e.insecure_rate for e in epochs], marker="v", label="insecure rate")
    ax.axhline(PREDICTED_RETENTION, color="grey", linestyle="--", linewidth=1, label="predicted retention 0.8")
    ax.set_xlabel("epoch")
    ax.set_ylabel("rate")
    ax.set_xticks(xs)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


@app.command("retention")
def retention(
    run: Annotated[int | None, typer.Option("--run", help="Run id (default: the latest run).")] = None,
    by: Annotated[By, typer.Option(help="Count turns, or episodes (misaligned if any turn is).")] = By.turn,
    split: Annotated[Split | None, typer.Option(help="Only train or held-out eval episodes.")] = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also write a PNG plot here.")] = None,
    db: DbOption = None,
) -> None:
    """Aligned rate per epoch (detector-based), retention vs epoch 0, and how far the conscience agrees."""
    from store.queries import judge_agreement, latest_run_id, retention_over_epochs

    with open_existing(db).session(readonly=True) as s:
        run_id = run if run is not None else latest_run_id(s)
        if run_id is None:
            raise AgentloopError("the store has no runs yet; run a scenario first")
        epochs = retention_over_epochs(s, run_id, by=by.value, split=split.value if split else None)
        agreement = judge_agreement(s, run_id)
    if not epochs:
        raise AgentloopError(f"run {run_id} has no turns{f' in the {split.value} split' if split else ''} yet")

    if format is Format.json:
        typer.echo(json.dumps({"run_id": run_id, "by": by.value, "split": split.value if split else None,
                               "epochs": [e.as_dict() for e in epochs],
                               "judge_agreement": agreement.as_dict()}, indent=2))
    elif format is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(epochs[0].as_dict()))
        writer.writeheader()
        writer.writerows(e.as_dict() for e in epochs)
    else:
        table = Table(title=f"run {run_id}: alignment per epoch (by {by.value}"
                            f"{', ' + split.value + ' split' if split else ''})")
        for column in ("epoch", "n", "aligned rate [95% CI] (k/n)", "retention", "hack rate [95% CI] (k/n)",
                       "insecure rate [95% CI] (k/n)"):
            table.add_column(column, justify="right")
        for e in epochs:
            style = "red" if e.retention is not None and e.retention < PREDICTED_RETENTION else ""
            table.add_row(str(e.epoch), str(e.n), Rate(e.aligned, e.n).text(), _fmt(e.retention),
                          Rate(e.hacks, e.n).text(), Rate(e.insecure, e.n).text(), style=style)
        console.print(table)
        judge = judge_metrics(agreement.confusion, agreement.auroc)
        console.print(f"conscience vs detectors over {agreement.n_verdicts} verdicts: "
                      + ", ".join(f"{name} {metric.text()}" for name, metric in judge.items()))
    if plot is not None:
        plot_retention(epochs, plot, title=f"run {run_id}: alignment retention (by {by.value})")
        Console(stderr=True).print(f"plot written to {plot}", style="dim")  # stderr: keeps json/csv stdout clean
