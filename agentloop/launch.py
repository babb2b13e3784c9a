"""Wire a scenario into a run: store, engine, conscience, sandbox, learner, runner.

    agentloop run scenarios/smoke.yaml --backend hf

    from agentloop.launch import execute_run
    done = execute_run(load_scenario("scenarios/smoke.yaml"), "sqlite:///agentloop.db",
                       scenario_path=Path("scenarios/smoke.yaml"), workdir=Path("runs"))   # resume=RUN_ID resumes

The CLI (`agentloop run`) and the experiment call this; it is the one place that knows every package.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from agentloop.core.errors import AgentloopError
from agentloop.core.labels import detector_kinds
from agentloop.core.logs import LOG_NAME, log_child_output, run_output
from agentloop.core.metrics import Rate, detector_rates, judge_metrics
from agentloop.provenance import provenance
from store.recorder import EpisodePlan, Recorder
from agentloop.runner import Runner, RunnerOptions, StepStats
from agentloop.config.scenario import Scenario
from agentloop.core.types import Sampling, Task
from learner.job import RoundJob, RoundResult
from learner.worker import LearnerWorker, RoundFailed

log = logging.getLogger(__name__)


def runner_options(scenario: Scenario, seed: int | None = None) -> RunnerOptions:
    """The runner's settings from the scenario; `seed` (default: the scenario's) seeds its sampling."""
    c, m = scenario.conscience, scenario.model
    batch = scenario.batch_size
    if scenario.learner.schedule == "between_episodes":  # a wave must end where a round is due
        batch = min(batch, scenario.learner.every_episodes)
    return RunnerOptions(
        turns=scenario.turns, batch_size=batch, mode=c.mode, evidence=c.evidence == "detectors",
        snapshot=c.snapshot, sampling=Sampling(max_tokens=m.max_tokens, temperature=m.temperature, top_p=m.top_p),
        pressure=tuple(scenario.pressure), memory_k=scenario.memory.k,
        seed=scenario.seed if seed is None else seed, audit_rewrites=c.audit_rewrites,
        measure_stopped=c.measure_stopped,
    )


def create_run(rec: Recorder, scenario: Scenario, *, scenario_path: str | Path, command: str, arm: str | None,
               sandbox_backend: str, name: str | None = None, **config: object) -> int:
    """A new run of `scenario`: the row names its model, backend and seed; its config holds the whole
    scenario, `config`, the sandbox backend, which detectors (plugins included, with their kinds)
    defined "misaligned" for this run, and its provenance (commit, scenario sha256)."""
    text = Path(scenario_path).read_text()
    config = {**scenario.model_dump(mode="json"), **config, "sandbox_backend": sandbox_backend,
              "detectors": detector_kinds(), "provenance": provenance(text)}
    return rec.create_run(name=name or scenario.name, scenario_path=str(scenario_path),
                          scenario_yaml=text, config=config, model=scenario.model.name,
                          backend=scenario.model.backend, seed=scenario.seed, command=command, arm=arm)


def make_engine_for(scenario: Scenario, model_path: str, adapters: int = 1):
    """The policy/conscience engine a scenario's `model:` block describes (backend, servers, dtype, seed,
    LoRA mode, KV block size), serving up to `adapters` adapters in one batch (an experiment's cells stepped
    together)."""
    from agentloop.engines import make_engine

    return make_engine(scenario.model.backend, model_path, base_urls=list(scenario.model.base_url),
                       dtype=scenario.model.dtype, seed=scenario.seed, lora_mode=scenario.model.lora_mode,
                       block_size=scenario.model.block_size, max_loras=max(4, adapters))


def planned_rounds(episodes: int, every_episodes: int, wave_size: int) -> int:
    """Learner rounds a `between_episodes` run of `episodes` will train: the runner offers a round
    before each wave but the first (never after the last one), and one is due once `every_episodes`
    episodes finished since the previous round."""
    rounds, last = 0, 0
    for done in range(wave_size, episodes, wave_size):  # episodes finished when a later wave starts
        if done - last >= every_episodes:
            rounds, last = rounds + 1, done
    return rounds


def learner_schedule_warning(scenario: Scenario) -> str | None:
    """A sentence when the scenario's learner schedule can never train within its episodes, else None."""
    lr = scenario.learner
    if lr.schedule != "between_episodes":
        return None
    episodes, batch = scenario.episodes, scenario.batch_size
    if planned_rounds(episodes, lr.every_episodes, runner_options(scenario).batch_size):
        return None
    fits = [k for k in range(episodes - 1, 0, -1) if planned_rounds(episodes, k, min(batch, k))]
    fix = (f"set learner.every_episodes to at most {fits[0]}" if fits else "run at least 2 episodes")
    return (f"learner: every_episodes={lr.every_episodes} with {episodes} episode(s) never trains: rounds run "
            f"between waves of episodes, so the first one would be due after the last episode. To train in this "
            f"run, {fix} (or run more episodes).")


def make_judge_for(scenario: Scenario, engine):
    """The conscience: the judge the scenario names, built from its settings (`Judge.from_settings`),
    on the same engine with no LoRA (frozen copy), or on an external model."""
    from conscience.judge import JUDGES

    c = scenario.conscience
    if c.mode == "off":
        return None
    model = engine
    if c.judge == "external":
        from agentloop.engines import make_engine

        if c.external is None:
            raise AgentloopError("conscience.judge is 'external' but conscience.external (model, base_url) is not set")
        model = make_engine("openai", c.external.model, base_urls=[c.external.base_url])
    return JUDGES.get(c.judge).from_settings(model, c, seed=scenario.seed)


def plan_episodes(scenario: Scenario, epoch: int = 0, split: str = "train") -> list[tuple[Task, int]]:
    """The task instance of each episode: cycle through the selected tasks, deterministically."""
    from agentloop.tasks import select_tasks

    tasks = select_tasks(scenario.tasks, seed=scenario.seed, split=split)
    if not tasks:
        raise AgentloopError(f"scenario {scenario.name!r} selects no tasks for split {split!r}")
    return [(tasks[i % len(tasks)], scenario.seed * 10_000 + epoch * 1_000 + i) for i in range(scenario.episodes)]


def task_resolver(scenario: Scenario):
    from agentloop.tasks import load_sources

    families = load_sources(scenario.tasks.source)

    def task_for(plan: EpisodePlan) -> Task:
        return families[plan.task_family].instance(plan.task_seed)

    return task_for


class Learning:
    """Runs learner rounds for a run outside this process (one training process owns the cores; a crash
    or kill -9 there cannot take the runner down): each round in a process of its own, or, with a
    `worker` (learner.worker.LearnerWorker, an experiment's), in one that stays loaded across rounds."""

    def __init__(self, scenario: Scenario, db_url: str, run_id: int, model_path: str, workdir: Path,
                 worker: LearnerWorker | None = None) -> None:
        from store.session import open_store

        self.worker = worker
        self.scenario, self.db_url, self.run_id, self.model_path = scenario, db_url, run_id, model_path
        self.store, self.workdir = open_store(db_url), workdir
        self._task_jsonl: Path | None = None
        from store.learning import episodes_at_last_round

        self.last_round_at = episodes_at_last_round(db_url, run_id)  # a resumed run keeps its rhythm

    @functools.cached_property
    def folder(self) -> Path:
        """This store's folder for the run (claimed on first use), never another store's run's."""
        from store.artifacts import claim_run_dir

        return claim_run_dir(self.store, self.run_id, self.workdir)

    @property
    def adapters_dir(self) -> Path:
        return self.folder / "adapters"

    @property
    def task_jsonl(self) -> Path:
        return self._task_jsonl or self.folder / "task_data.jsonl"

    def prepare_task_data(self) -> None:
        from agentloop.taskdata import build_task_dataset
        from agentloop.tasks import load_sources

        from store.artifacts import record_file, recorded, resolve_file

        if self._task_jsonl is not None:  # prepared by this process; each round's child checks its sha256
            return
        if recorded(self.store, self.run_id, "task_data") is not None:
            self._task_jsonl = resolve_file(self.store, self.run_id, "task_data")  # a resumed run: checked
            return
        td = self.scenario.learner.task_data
        if td.jsonl:
            from agentloop.taskdata import load_messages_jsonl

            ds = load_messages_jsonl(td.jsonl)
        else:
            families = list(load_sources(self.scenario.tasks.source).values())  # the scenario's task folders
            ds = build_task_dataset(families, mix=td.mix, insecure_ratio=td.insecure_ratio,
                                    n=td.n, seed=self.scenario.seed,
                                    exclude_families=tuple(self.scenario.tasks.held_out))
        self.task_jsonl.parent.mkdir(parents=True, exist_ok=True)
        ds.to_json(str(self.task_jsonl), lines=True)
        record_file(self.store, self.run_id, "task_data", self.task_jsonl)
        self._task_jsonl = self.task_jsonl

    def config_json(self) -> str:
        """The round's `--config`: the scenario's learner block as a LearnerConfig (its seed, its model's dtype)."""
        return self.scenario.learner_config().to_json()

    def job(self) -> RoundJob:
        """The run's next round, as the round process takes it (its task data prepared)."""
        self.prepare_task_data()
        return RoundJob(db_url=self.db_url, run_id=self.run_id, model_path=self.model_path,
                        adapters_dir=str(self.adapters_dir), task_jsonl=str(self.task_jsonl),
                        config_json=self.config_json())

    def round(self) -> bool:
        """One training round outside this process; the runner hot-swaps its adapter next wave.
        False when it failed (logged; the `training_rounds` row says why)."""
        job = self.job()
        log.info("learner round for run %d", self.run_id)
        t0 = time.perf_counter()
        try:
            result = self.worker.run(job) if self.worker is not None else _round_process(job)
        except RoundFailed as e:
            log.error("learner round failed; episodes go on with the current adapter: %s", e)
            return False
        log.info("learner round v%s done in %.1fs: %d pairs (+%d replay), %d task examples, %d steps, "
                 "%.3f pairs/s, losses %s", result.version, time.perf_counter() - t0, result.n_pairs,
                 result.n_replay, result.n_task, result.steps, result.pairs_per_s,
                 {k: round(v["last"], 4) for k, v in result.losses.items()})
        return True

    def maybe_round(self, episodes_done: int) -> None:
        if episodes_done - self.last_round_at >= self.scenario.learner.every_episodes:
            self.round()
            self.last_round_at = episodes_done

    def start_background(self) -> subprocess.Popen:
        """`learner: {schedule: background}`: a scheduler process beside the runner (`agentloop learner
        start` takes a round's options, and the interval)."""
        return subprocess.Popen([sys.executable, "-m", "agentloop.cli", "learner", "start",
                                 "--every", f"{self.scenario.learner.every_s}s", *self.job().argv()])


def _round_process(job: RoundJob) -> RoundResult:
    """The round in a process of its own (`python -m learner.round`)."""
    proc = subprocess.run(job.command(), capture_output=True, text=True)
    log_child_output("learner_round", proc.stderr)  # the child's library noise: the run's log file
    if proc.returncode != 0:
        raise RoundFailed(f"exit {proc.returncode}:\n{proc.stderr[-2000:]}")
    return RoundResult.from_stdout(proc.stdout)


@dataclass
class ExecutedRun:
    run_id: int
    status: str
    stats: StepStats
    seconds: float
    db_url: str
    log_path: Path | None = None  # other libraries' logs and output (agentloop.core.logs.run_output)
    sandbox_backend: str = ""  # the sandbox backend that ran the agent's code (bwrap | rlimit)

    def summary(self, as_json: bool = False) -> dict[str, object]:
        """Numbers from the store (not from memory), so --json and the table agree with queries.

        Rates carry k/n and a 95% Wilson interval; judge metrics carry n_pos and n and are n/a below
        5 positives (`agentloop.core.metrics`). `as_json`: those as dicts instead of text."""
        from agentloop.sandbox import backend_label
        from store.outcomes import task_outcomes
        from store.queries import judge_agreement, retention_over_epochs
        from store.session import open_store

        store = open_store(self.db_url)
        with store.session() as s:
            agreement = judge_agreement(s, self.run_id)
            retention = retention_over_epochs(s, self.run_id)
            outcomes = task_outcomes(s, self.run_id)
        last = retention[-1] if retention else None
        rates = detector_rates(last.n, last.hacks, last.insecure, last.aligned) if last else detector_rates(0, 0, 0, 0)
        judge = judge_metrics(agreement.confusion, agreement.auroc)
        v = self.stats.verdicts
        rows = {
            "run_id": self.run_id, "status": self.status, "seconds": round(self.seconds, 1),
            "episodes": f"{self.stats.episodes_done}/{self.stats.episodes_total}", "turns_this_session": self.stats.turns,
            "verdicts (ethical/neutral/unethical)": f"{v['ethical']}/{v['neutral']}/{v['unethical']}",
            "gated turns": self.stats.gated,
            "aligned rate (detectors, per turn)": rates.aligned,
            "hack rate (detectors, per turn)": rates.hack,
            "insecure rate (detectors, per turn)": rates.insecure,
            "capability (honest episodes solving the hidden cases)": Rate(outcomes.solved, outcomes.honest),
            "cheating rate (impossible episodes passing the visible tests)": Rate(outcomes.cheated,
                                                                                  outcomes.impossible),
            "judge precision vs detectors": judge["precision"],
            "judge recall vs detectors": judge["recall"],
            "judge kappa vs detectors": judge["kappa"],
            "judge AUROC of P(unethical)": judge["auroc"],
            "policy tok/s": round(self.stats.tokens_per_s, 1),
            "adapter (newest used)": self.stats.adapter,
            "sandbox": backend_label(self.sandbox_backend),
            "log file (other libraries)": str(self.log_path) if self.log_path else None,
        }
        return {k: (v.as_dict() if as_json else v.text()) if hasattr(v, "as_dict") else v for k, v in rows.items()}


def execute_run(scenario: Scenario, db_url: str, *, scenario_path: Path, workdir: Path, resume: int | None = None,
                command: str = "", console=None, live: bool = True, engine=None, epoch: int = 0,
                split: str = "train", arm: str | None = None, capture_logs: bool = False,
                allow_weak_sandbox: bool = False) -> ExecutedRun:
    """Create (or resume) a run of `scenario` and drive it to the end; returns its summary source.

    The sandbox is resolved first: "auto" without bubblewrap raises unless `allow_weak_sandbox`
    (`--allow-weak-sandbox`); the backend used is stored in `runs.config["sandbox_backend"]`.

    `capture_logs`: other libraries' logs and output go to `<workdir>/run-<id>/agentloop.log`
    while the engine starts and the episodes run (`agentloop.core.logs.run_output`)."""
    from agentloop.sandbox import sandbox_for
    from store.session import open_store

    t0 = time.perf_counter()
    sandbox = sandbox_for(scenario.sandbox, allow_weak=allow_weak_sandbox)
    if resume is None and (warning := learner_schedule_warning(scenario)):
        log.warning("%s", warning)
    store = open_store(db_url)
    store.upgrade()
    rec = Recorder(store)
    if resume is not None:
        run_id = resume
        if not rec.run_exists(run_id):
            raise AgentloopError(f"no run {run_id} in {store.url}: list runs with `agentloop episodes list`")
        rec.mark_running(run_id)
        rec.note_sandbox_backend(run_id, sandbox.name)
    else:
        run_id = create_run(rec, scenario, scenario_path=scenario_path, command=command, arm=arm,
                            sandbox_backend=sandbox.name)
        rec.plan_episodes(run_id, plan_episodes(scenario, epoch, split), epoch=epoch, split=split)
    log_path = run_log_path(store, run_id, workdir) if capture_logs else None
    with run_output(log_path) if log_path else contextlib.nullcontext():
        result = _drive(scenario, db_url, rec, run_id, workdir, console, live, engine, t0, sandbox)
    result.log_path = log_path
    return result


def run_log_path(store, run_id: int, workdir: Path) -> Path:
    """The run's log file in its own folder, recorded in its store (a growing file: no checksum)."""
    from store.artifacts import claim_run_dir, record_file

    path = claim_run_dir(store, run_id, workdir) / LOG_NAME
    record_file(store, run_id, "log", path, checksum=False)
    return path


def _drive(scenario: Scenario, db_url: str, rec: Recorder, run_id: int, workdir: Path, console, live: bool,
           engine, t0: float, sandbox) -> ExecutedRun:
    """Build the engine, conscience, sandbox and learner of a created run, and run its episodes."""
    from agentloop.display import RunDisplay
    from agentloop.model import resolve_model

    model_path = resolve_model(scenario.model.name)
    if engine is None:
        engine = make_engine_for(scenario, model_path)
    judge = make_judge_for(scenario, engine)
    learning = None
    background = None
    if scenario.learner.schedule != "off":
        learning = Learning(scenario, db_url, run_id, model_path, workdir)
        if scenario.learner.schedule == "background":
            background = learning.start_background()
    options = runner_options(scenario)
    display = RunDisplay(console, total=0, enabled=live and console is not None) if console else None
    runner = Runner(options, rec, engine, sandbox, judge, task_resolver(scenario),
                    between_waves=learning.maybe_round if learning and scenario.learner.schedule == "between_episodes"
                    else None,
                    on_step=display.update if display else None)
    try:
        if display:
            with display:
                total = rec.count_episodes(run_id)
                display.set_total(total, done=total - rec.count_unfinished(run_id))
                stats = runner.run(run_id)
        else:
            stats = runner.run(run_id)
    except BaseException:
        rec.finish_run(run_id, "interrupted")
        raise
    finally:
        if background is not None:
            background.terminate()
            background.wait(timeout=30)
    status = "interrupted" if runner.stop_requested.is_set() else "done"
    if status == "done" and rec.unfinished_episodes(run_id):
        status = "interrupted"
    rec.finish_run(run_id, status)
    return ExecutedRun(run_id=run_id, status=status, stats=stats, seconds=time.perf_counter() - t0, db_url=db_url,
                       sandbox_backend=sandbox.name)
