"""`agentloop report TARGET`: tables, a PNG plot, a markdown write-up and JSON, from the store alone.

    agentloop report exp-2026-01-02                  # an experiment id (runs.config["experiment"])
    agentloop report 7 --out reports/run7 --json     # one run; JSON on stdout instead of tables
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentloop.cli.app import app
from agentloop.cli.db import DbOption
from agentloop.core.paths import db_url

console = Console()


@app.command("report")
def report(
    target: Annotated[str, typer.Argument(help="An experiment id, or a run id.")],
    db: DbOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (default: reports/<target>).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of tables.")] = False,
) -> None:
    """Per arm and epoch: aligned rate, retention, hack/insecure rates, capability, judge validity, pairs."""
    from agentloop.report import build_report

    result = build_report(db_url(db), target)
    written = result.write(out if out is not None else Path("reports") / target)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        for renderable in result.tables():
            console.print(renderable)
    Console(stderr=True).print(f"wrote {written['markdown']}, {written['plot']} and {written['json']}",
                               style="dim")  # stderr: keeps --json clean


@app.command("compare-reports")
def compare_reports(
    first: Annotated[Path, typer.Argument(help="A report.json, or the folder `agentloop report --out` wrote.")],
    second: Annotated[Path, typer.Argument(help="The other report (a rerun, another machine, a GPU).")],
) -> None:
    """Whether two reports read the same at their last epoch: each seed-level contrast lower, higher or not
    distinguishable in both (a markdown table on stdout; exit 1 where a contrast in both reads differently)."""
    from agentloop.report_agreement import agreement, load_report, markdown

    rows = agreement(load_report(first), load_report(second))
    typer.echo(markdown(rows, str(first), str(second)))
    if any(r.differs for r in rows):
        raise typer.Exit(1)
