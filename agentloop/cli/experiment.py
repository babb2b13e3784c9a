"""`agentloop experiment SCENARIO`: the off/self/oracle/gate ablation over epochs and seeds.

    agentloop experiment scenarios/codehack_multiturn.yaml --epochs 5 --arms off,self,oracle,gate --seeds 3
    agentloop experiment scenarios/smoke.yaml --epochs 2 --arms off,oracle --seeds 1 --resume smoke-20261123-101500
    agentloop experiment scenarios/smoke.yaml --backend openai --base-url http://a:8000/v1 --base-url http://b:8000/v1
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from agentloop.arms import ARMS, arm
from agentloop.cli.app import app
from agentloop.core.logs import console, set_verbose
from agentloop.core.paths import db_url

if TYPE_CHECKING:
    from agentloop.config.scenario import Scenario


ARM_HELP = "Arms:\n\n" + "\n\n".join(f"{name}: {ARMS.get(name).meaning}" for name in ARMS.builtin_names())


@app.command("experiment", epilog=ARM_HELP)
def experiment(
    scenario_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Scenario YAML."),
    epochs: int = typer.Option(5, min=0, help="Training epochs after the epoch-0 evaluation."),
    arms: str = typer.Option("off,self,oracle,gate", help="Comma-separated arms (listed below)."),
    seeds: int = typer.Option(3, min=1, help="Seeds 0..N-1 (each arm sees the same tasks per seed)."),
    db: Optional[str] = typer.Option(None, help="SQLAlchemy URL of the store."),
    model: Optional[str] = typer.Option(None, help="'embedded', an HF folder or a hub id."),
    backend: Optional[str] = typer.Option(None, help="vllm | hf | openai"),
    dtype: Optional[str] = typer.Option(None, help="auto | bfloat16 | float32 (auto: bf16 on a CPU with AMX/AVX512-BF16)."),
    base_url: Optional[list[str]] = typer.Option(
        None, "--base-url", help="OpenAI-compatible server, for --backend openai; repeat it for a fleet "
                                 "(requests balanced, failed ones retried on another server)."),
    cells: str = typer.Option(
        "one_after_another", help="one_after_another: a cell (arm x seed) through all its epochs, then the next; "
                                  "together: an epoch of every cell at once, their episodes in one generate per step "
                                  "(same answers; faster where batching pays: bench/cells_together.py)."),
    overlap: bool = typer.Option(
        False, help="Step a cell's held-out episodes of epoch e with its training episodes of epoch e+1 (and its "
                    "benchmark at the last epoch): the same adapter, fewer and fuller batches (bench/cell_epoch.py); "
                    "in bf16 the answers then differ from a run without it. A resumed experiment keeps its choice."),
    lora_mode: Optional[str] = typer.Option(
        None, help="merge | requests: how the vLLM policy gets its adapter (model.lora_mode; requests batches "
                   "several cells' adapters, for --cells together)."),
    episodes: Optional[int] = typer.Option(None, min=1, help="Training episodes per epoch."),
    turns: Optional[int] = typer.Option(None, min=1),
    tasks: Optional[list[Path]] = typer.Option(
        None, "--tasks", exists=True, file_okay=False,
        help="A folder of task families (repeatable); replaces the scenario's tasks.source."),
    split: Optional[str] = typer.Option(
        None, help="dev | test: the held-out families evaluated (tasks.eval_split): dev (holdout_families) for dose "
                   "curves and tuning, test (test_families) once, for the reported numbers, settings fixed first."),
    resume: Optional[str] = typer.Option(None, help="Continue this experiment id."),
    workdir: Path = typer.Option(Path("agentloop_runs"), help="Where adapters and task data are written."),
    report: bool = typer.Option(True, help="Write the report (tables, plot, markdown) at the end."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show other libraries' logs and warnings on the "
                                 "terminal too (they always go to <workdir>/experiment-<id>/agentloop.log)."),
    allow_weak_sandbox: bool = typer.Option(
        False, "--allow-weak-sandbox", help="Where bubblewrap is unusable, run the agent's code in the rlimit "
                                            "sandbox (no network or filesystem isolation) instead of stopping."),
) -> None:
    """Run the ablation; every number lands in the store, then `agentloop report` reads it back."""
    from agentloop.core.errors import ConfigError
    from agentloop.experiment import CELLS
    from agentloop.config.scenario import load_scenario

    scenario = load_scenario(scenario_path).with_overrides(model=model, backend=backend, base_url=base_url,
                                                           dtype=dtype, lora_mode=lora_mode, episodes=episodes,
                                                           turns=turns, split=split,
                                                           tasks=[str(p.resolve()) for p in tasks] if tasks else None)
    if cells not in CELLS:
        raise ConfigError(f"--cells must be one of {', '.join(CELLS)}, got {cells!r}")
    if verbose:
        set_verbose(True)
    ablation = Ablation(scenario, scenario_path, arms=[a.strip() for a in arms.split(",") if a.strip()],
                        seeds=seeds, epochs=epochs, cells=cells, overlap=overlap, workdir=workdir,
                        allow_weak_sandbox=allow_weak_sandbox)
    url, experiment_id = _run(ablation, db_url(db), resume)
    if report:
        _print_report(url, experiment_id)


@dataclass(frozen=True)
class Ablation:
    """What `agentloop experiment` runs, once its command line is read: the scenario with its overrides
    and the grid of cells (arm x seed) over epochs."""

    scenario: Scenario
    scenario_path: Path
    arms: list[str]
    seeds: int
    epochs: int
    cells: str
    overlap: bool
    workdir: Path
    allow_weak_sandbox: bool


def _run(ablation: Ablation, url: str, resume: str | None) -> tuple[str, str]:
    """Check the arms and the sandbox before the model loads, then run every cell into the store at `url`;
    returns the url and the experiment id."""
    from agentloop.cli.app import command_line
    from agentloop.core.logs import LOG_NAME, run_output, status_line
    from agentloop.experiment import Experiment, new_experiment_id
    from agentloop.launch import make_engine_for
    from agentloop.model import resolve_model
    from agentloop.organism.stage import warm_start
    from agentloop.sandbox import sandbox_for
    from store.session import open_store, redact_urls

    scenario, scenario_path, workdir = ablation.scenario, ablation.scenario_path, ablation.workdir
    t0 = time.perf_counter()
    for name in ablation.arms:  # an unknown arm fails here, naming the choices, before the model loads
        arm(name)
    sandbox_for(scenario.sandbox, allow_weak=ablation.allow_weak_sandbox)  # before the model loads: fail fast
    store = open_store(url)
    store.upgrade()
    experiment_id = resume or new_experiment_id(scenario)
    model_path = resolve_model(scenario.model.name)
    command = command_line(sys.argv[1:])  # any --db password redacted
    log_path = Path(workdir) / f"experiment-{experiment_id}" / LOG_NAME
    console.print(f"experiment [bold]{experiment_id}[/]: other libraries' output in {log_path}")
    with run_output(log_path), status_line(f"experiment {experiment_id}") as status:
        # organism.warm_start: one recorded SFT round merged into the base of every arm and the frozen copy
        status(f"experiment {experiment_id}: warm start")
        model_path = warm_start(scenario, store, url, workdir, model_path, key=experiment_id,
                                scenario_path=str(scenario_path), command=command)
        adapters = len(ablation.arms) * ablation.seeds if ablation.cells == "together" else 1
        engine = make_engine_for(scenario, model_path, adapters=adapters)
        exp = Experiment(scenario, store, engine, db_url=url, workdir=workdir, model_path=model_path,
                         scenario_path=str(scenario_path), command=command,
                         allow_weak_sandbox=ablation.allow_weak_sandbox,
                         on_progress=lambda text: status(f"experiment {experiment_id}: {text}"))
        try:
            exp.run(experiment_id, ablation.arms, list(range(ablation.seeds)), ablation.epochs, cells=ablation.cells,
                    overlap=ablation.overlap)
        except KeyboardInterrupt:  # after the current turn: every finished turn is stored
            console.print(f"experiment [bold]{experiment_id}[/] stopped after {time.perf_counter() - t0:.0f} s; "
                          f"continue it with the same arguments and `--resume {experiment_id}`")
            raise typer.Exit(130) from None
    console.print(f"experiment [bold]{experiment_id}[/] done in {time.perf_counter() - t0:.0f} s: "
                  f"`agentloop report {experiment_id} --db {redact_urls(url)}`")
    return url, experiment_id


def _print_report(url: str, experiment_id: str) -> None:
    """The tables on the terminal and the same files as `agentloop report` under reports/<id>."""
    from agentloop.report import build_report

    rep = build_report(url, experiment_id)
    for table in rep.tables():
        console.print(table)
    written = rep.write(Path("reports") / experiment_id)  # the same files as `agentloop report`
    console.print(f"report: {written['markdown']} (data: {written['json']}, plot: {written['plot']})")
