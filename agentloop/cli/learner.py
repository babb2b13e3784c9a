"""`agentloop learner start|status|stop|round`: a standalone background learner on a store.

    agentloop learner start --run 1 --every 10m --db sqlite:///agentloop.db [--detach]
    agentloop learner status --db sqlite:///agentloop.db
    agentloop learner stop --run 1 --db sqlite:///agentloop.db
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from agentloop.core import paths
from agentloop.cli.app import app
from agentloop.core.errors import ConfigError

learner_app = typer.Typer(help="The learner: scheduled LoRA rounds (task loss + DPO on conscience pairs).",
                          no_args_is_help=True)
app.add_typer(learner_app, name="learner")
console = Console()

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """'90s' | '10m' | '1.5h' | '2d' | '30' (seconds) -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--every {text!r}: use a positive number with an optional unit s/m/h/d, e.g. 10m")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _model_path(model: str | None) -> str:
    if model in (None, "embedded"):
        from agentloop.model import embedded_path

        return str(embedded_path())
    return model


def _run_dir(db_url: str, run: int) -> Path:
    """The run's folder as its store records it (a run of `agentloop run`), else a new one claimed
    for it under $AGENTLOOP_HOME/runs: never a folder of another store's run with the same id."""
    from store.artifacts import claim_run_dir
    from store.session import open_store

    return claim_run_dir(open_store(db_url, must_exist=True), run, paths.home() / "runs")


@learner_app.command("start")
def start(
    run: int = typer.Option(..., help="Run id whose pairs train its adapter."),
    every: str = typer.Option("10m", help="Interval between rounds: 90s, 10m, 1h."),
    db: Optional[str] = typer.Option(None, help="SQLAlchemy URL [default: $AGENTLOOP_DB or sqlite:///agentloop.db]."),
    model: Optional[str] = typer.Option(None, help="Base model: 'embedded' (default), an HF folder or hub id."),
    adapters: Optional[Path] = typer.Option(None, help="Adapter versions folder [default: the run's folder recorded in the store, else a new one under $AGENTLOOP_HOME/runs]."),
    task_data: Optional[Path] = typer.Option(None, help="The rounds' task data (messages JSONL)."),
    config: str = typer.Option("{}", help="LearnerConfig fields as JSON, e.g. '{\"steps\": 8}'."),
    detach: bool = typer.Option(False, help="Run in the background and return; `learner stop` ends it."),
) -> None:
    """Schedule rounds every --every (the job is stored in the database, so a restart resumes it)."""
    from agentloop.config.learner_config import LearnerConfig
    from learner.job import RoundJob
    from learner.scheduler import pid_file, serve

    interval = parse_interval(every)
    db_url = paths.db_url(db)
    LearnerConfig.from_json(config)  # fail here, not in every round
    adapters = adapters or _run_dir(db_url, run) / "adapters"
    spec = RoundJob(db_url=db_url, run_id=run, model_path=_model_path(model), adapters_dir=str(adapters.resolve()),
                     task_jsonl=str(task_data.resolve()) if task_data else None, config_json=config)
    if detach:
        log_path = pid_file(db_url, run).with_suffix(".log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        args = [a for a in sys.argv[1:] if a != "--detach"]
        with log_path.open("ab") as log_fh:
            proc = subprocess.Popen([sys.executable, "-m", "agentloop.cli", *args], stdout=log_fh, stderr=log_fh,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        console.print(f"learner for run {run} started in the background: pid {proc.pid}, log {log_path}")
        return
    serve(spec, interval)


@learner_app.command("stop")
def stop(
    run: int = typer.Option(..., help="Run id."),
    db: Optional[str] = typer.Option(None, help="SQLAlchemy URL."),
    remove: bool = typer.Option(False, help="Also delete the stored schedule (otherwise `start` resumes it)."),
    wait: float = typer.Option(600.0, help="Seconds to wait for a running round to finish."),
) -> None:
    """Stop the learner process of a run (it finishes a running round first)."""
    from learner.scheduler import pid_file, remove_job
    from learner.scheduler import stop as stop_learner

    db_url = paths.db_url(db)
    pid = stop_learner(db_url, run)
    if pid is None:
        console.print(f"no learner process for run {run}")
    else:
        deadline = time.monotonic() + wait
        while pid_file(db_url, run).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        console.print(f"stopped learner pid {pid}")
    if remove:
        console.print("schedule removed" if remove_job(db_url, run) else "no stored schedule")


@learner_app.command("status")
def status(
    db: Optional[str] = typer.Option(None, help="SQLAlchemy URL."),
    run: Optional[int] = typer.Option(None, help="Only this run."),
    limit: int = typer.Option(5, help="Rounds and adapters to show per run."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Scheduled jobs in the store, the last rounds and the published adapters."""
    from learner.scheduler import pid_file, stored_jobs
    from store.learning import adapters_overview, rounds_overview

    db_url = paths.db_url(db)
    jobs = [j for j in stored_jobs(db_url) if run is None or j["run_id"] == run]
    for job in jobs:
        pidf = pid_file(db_url, job["run_id"])
        job["pid"] = int(pidf.read_text()) if pidf.exists() else None
    rounds = rounds_overview(db_url, run, limit)
    adapters = adapters_overview(db_url, run, limit)
    if as_json:
        console.print_json(json.dumps({"jobs": jobs, "rounds": rounds, "adapters": adapters}, default=str))
        return
    for title, rows in (("scheduled learners", jobs), ("last rounds", rounds), ("adapters", adapters)):
        table = Table(title=title)
        if not rows:
            console.print(f"{title}: none")
            continue
        keys = [k for k in rows[0] if k != "config"]
        for key in keys:
            table.add_column(key)
        for row in rows:
            table.add_row(*(_cell(row[k]) for k in keys))
        console.print(table)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


@learner_app.command("round")
def round_(
    run: int = typer.Option(..., help="Run id."),
    db: Optional[str] = typer.Option(None, help="SQLAlchemy URL."),
    model: Optional[str] = typer.Option(None, help="Base model: 'embedded' (default), an HF folder or hub id."),
    adapters: Optional[Path] = typer.Option(None, help="Adapter versions folder."),
    task_data: Optional[Path] = typer.Option(None, help="The round's task data (messages JSONL)."),
    config: str = typer.Option("{}", help="LearnerConfig fields as JSON."),
) -> None:
    """Run one round now, in this process."""
    from agentloop.config.learner_config import LearnerConfig
    from learner.round import run_round

    adapters = adapters or _run_dir(paths.db_url(db), run) / "adapters"
    result = run_round(paths.db_url(db), run, _model_path(model), adapters, task_data, LearnerConfig.from_json(config))
    console.print_json(json.dumps({"version": result.version, "adapter_path": result.adapter_path,
                                   "losses": result.losses, "pairs": result.n_pairs, "replay": result.n_replay,
                                   "task": result.n_task, "skipped": result.skipped,
                                   "seconds": round(result.seconds, 1)}))
