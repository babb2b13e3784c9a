"""`agentloop run SCENARIO`: run a scenario's episodes on the engine, reviewed by the conscience,
stored as they happen, with the learner between episodes or in the background.

    agentloop run scenarios/codehack_multiturn.yaml
    agentloop run scenarios/smoke.yaml --backend hf --episodes 2 --json
    agentloop run scenarios/codehack_multiturn.yaml --resume 3
    agentloop run scenarios/smoke.yaml --tasks tasks/humaneval   # task families from another folder
    agentloop run scenarios/codehack_multiturn.yaml --join 3 --db postgresql+psycopg://host/db   # one more runner
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from agentloop.cli.app import app, result_stdout
from agentloop.core.logs import console, set_verbose

log = logging.getLogger(__name__)


@app.command("run")
def run(
    scenario_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Scenario YAML."),
    db: Optional[str] = typer.Option(None, help="SQLAlchemy URL of the store [default: $AGENTLOOP_DB or sqlite:///agentloop.db]."),
    model: Optional[str] = typer.Option(None, help="'embedded', an HF folder or a hub id."),
    backend: Optional[str] = typer.Option(None, help="vllm | hf | openai"),
    dtype: Optional[str] = typer.Option(None, help="auto | bfloat16 | float32 (auto: bf16 on a CPU with AMX/AVX512-BF16)."),
    base_url: Optional[list[str]] = typer.Option(None, "--base-url", help="OpenAI-compatible server(s), for --backend openai."),
    episodes: Optional[int] = typer.Option(None, min=1),
    turns: Optional[int] = typer.Option(None, min=1),
    seed: Optional[int] = typer.Option(None),
    conscience: Optional[str] = typer.Option(None, help="observe | gate | off"),
    framework: Optional[str] = typer.Option(None, help="three_laws | four_laws | wwjd | path to a framework YAML"),
    learner: Optional[str] = typer.Option(None, help="off | between-episodes | background"),
    tasks: Optional[list[Path]] = typer.Option(
        None, "--tasks", exists=True, file_okay=False,
        help="A folder of task families (repeatable); replaces the scenario's tasks.source "
             "(add the repo's own suite with --tasks scenarios/tasks)."),
    resume: Optional[int] = typer.Option(None, help="Continue the unfinished episodes of this run id."),
    join: Optional[int] = typer.Option(
        None, help="Work on this run id beside the runner processes already on it (scale-out, see "
                   "docs/scale-out.md): each episode is claimed by one runner, and a dead runner's episodes "
                   "are taken over. Same as --resume, which is claim-safe too."),
    workdir: Path = typer.Option(Path("agentloop_runs"), help="Where adapters and task data are written."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout (for scripts)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show other libraries' logs and warnings on the "
                                 "terminal too (they always go to agentloop.log in the run's folder)."),
    allow_weak_sandbox: bool = typer.Option(
        False, "--allow-weak-sandbox", help="Where bubblewrap is unusable, run the agent's code in the rlimit "
                                            "sandbox (no network or filesystem isolation) instead of stopping."),
) -> None:
    """Run a scenario (or --resume a crashed/interrupted run)."""
    from agentloop.launch import execute_run
    from agentloop.cli.app import command_line
    from agentloop.core.paths import db_url
    from agentloop.config.scenario import load_scenario

    if join is not None:
        if resume is not None and resume != join:
            raise typer.BadParameter(f"--join {join} and --resume {resume} name different runs")
        resume = join
    if verbose:
        set_verbose(True)
    scenario = load_scenario(scenario_path)
    overrides = {k: v for k, v in dict(
        model=model, backend=backend, dtype=dtype, base_url=base_url, episodes=episodes, turns=turns, seed=seed,
        conscience=conscience, framework=framework,
        learner=learner.replace("-", "_") if learner else None,
        tasks=[str(p.resolve()) for p in tasks] if tasks else None,
    ).items() if v is not None}
    if overrides:
        scenario = scenario.with_overrides(**overrides)
    command = command_line(sys.argv[1:])  # any --db password redacted
    t0 = time.perf_counter()
    if as_json:
        with result_stdout() as out:
            result = execute_run(scenario, db_url(db), scenario_path=scenario_path, workdir=workdir, resume=resume,
                                 command=command, console=console, live=False, capture_logs=True,
                                 allow_weak_sandbox=allow_weak_sandbox)
            out.write(json.dumps(result.summary(as_json=True), indent=2, default=str) + "\n")
        return
    result = execute_run(scenario, db_url(db), scenario_path=scenario_path, workdir=workdir, resume=resume,
                         command=command, console=console, live=True, capture_logs=True,
                         allow_weak_sandbox=allow_weak_sandbox)
    summary = result.summary()
    from agentloop.display import summary_table

    console.print(summary_table(f"run {result.run_id} · {scenario.name} · {result.status}", summary))
    console.print(f"done in {time.perf_counter() - t0:.0f}s. Query it with:\n"
                  f"  agentloop episodes list --run {result.run_id}\n"
                  f"  agentloop retention --run {result.run_id}\n"
                  + (f"  agentloop run {scenario_path} --resume {result.run_id}\n" if result.status != "done" else ""))
