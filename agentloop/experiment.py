"""The ablation: Emergent Misalignment vs Emergent Alignment, retention over epochs.

    agentloop experiment scenarios/codehack_multiturn.yaml --epochs 5 --arms off,self,oracle,gate --seeds 3

For each seed and arm, one run in the store (`runs.arm`, `runs.seed`, `runs.config["experiment"]`), whose status
reads done once its epochs are (interrupted or failed where a stop or an error came first). Epoch 0 evaluates the base
policy; each later epoch runs the training episodes under pressure with the arm's conscience, one learner round, then
the held-out evaluation episodes, and writes an `evaluations` row. Every arm of a seed sees the same task instances
and task data. Progress is read back from the store, so `--resume EXPERIMENT_ID` continues where a stop left off.
`--cells together` runs each epoch of every cell at once, one `generate` per step for all their episodes
(agentloop.cells), with the same answers. `--overlap` steps a cell's held-out episodes of epoch e with its training
episodes of epoch e+1 (at the last epoch, its benchmark's): all on adapter e, in fewer, fuller batches.

Arms (agentloop.arms, one registered class each; `agentloop experiment --help` lists them): off, self, oracle, gate,
external, and the controls always, random, distill and kl. Held-out episodes run the policy with the frozen-copy
self-judge labelling (no rewrites, so no pairs: a held-out episode never feeds a round), in every arm but gate, whose
held-out turns are gated too. So epoch 0 (the base model, before any round) is the same for every arm of a seed but
gate: it is evaluated once per seed and copied to the others (store.episode_copy; `evaluations.extra.copied_from_run`
names the source). With the scenario's `benchmark:` section, each cell also answers an outside benchmark
(agentloop.benchmark: HumanEval, honest and impossible variants, imported once per workdir) with its held-out scenario
at epoch 0 (shared like the held-out episodes) and at its last epoch, into the episode split "benchmark", with an
`evaluations` row whose `extra.split` is "benchmark"; `--resume` continues a partial benchmark too.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime, timezone
from pathlib import Path

from agentloop.arms import arm
from agentloop.benchmark import BENCHMARK_SPLIT, benchmark_scenario, imported_benchmark
from agentloop.core.errors import AgentloopError, ConfigError
from learner.worker import LearnerWorker
from agentloop.launch import Learning, create_run, make_judge_for, plan_episodes, runner_options, task_resolver
from agentloop.organism.stage import dosed
from store.recorder import Recorder
from agentloop.runner import Runner
from agentloop.config.scenario import Scenario
from store.experiments import done_rounds, evaluated_epochs, experiment_run, experiment_runs
from store.session import Store

log = logging.getLogger(__name__)

def arm_scenario(scenario: Scenario, arm_name: str, seed: int) -> Scenario:
    """The scenario as this arm trains on it (agentloop.arms); the experiment schedules rounds itself."""
    return arm(arm_name).train_scenario(scenario, seed)


CELLS = ("one_after_another", "together")  # how an experiment steps its cells (Experiment.run)


@dataclass
class Unit:
    arm: str
    seed: int
    run_id: int


@dataclass
class CellPlan:
    """What a cell runs each epoch: its training scenario (with the arm's conscience and the
    organism's dose), its held-out scenario, and its learner."""

    train: Scenario
    evaluate: Scenario
    learning: Learning
    benchmark: Scenario | None = None  # the held-out scenario on the outside benchmark's tasks (agentloop.benchmark)

    def held_out(self, split: str) -> Scenario | None:
        """The scenario of a held-out split: "eval" or "benchmark" (None without a benchmark)."""
        return self.benchmark if split == BENCHMARK_SPLIT else self.evaluate


class Experiment:
    def __init__(self, scenario: Scenario, store: Store, engine, *, db_url: str, workdir: Path, model_path: str,
                 scenario_path: str, command: str, on_progress=None, allow_weak_sandbox: bool = False,
                 keep_learner_loaded: bool = True) -> None:
        self.scenario, self.store, self.engine = scenario, store, engine
        self.db_url, self.workdir, self.model_path = db_url, workdir, model_path
        self.scenario_path, self.command = scenario_path, command
        self.allow_weak_sandbox = allow_weak_sandbox  # "auto" may fall back to rlimit (--allow-weak-sandbox)
        self.rec = Recorder(store)
        self.on_progress = on_progress or (lambda text: None)
        # every cell's rounds in one learner process that stays loaded; False: a process per round
        self.worker = LearnerWorker() if keep_learner_loaded else None

    # -- runs ---------------------------------------------------------------------------------
    def units(self, experiment_id: str, arms: list[str], seeds: list[int], overlap: bool = False) -> list[Unit]:
        """One run per (arm, seed), created on first use and found again on resume; `overlap` (`run`'s) is kept in
        a new run's config, and a resumed experiment must keep it: in bf16 an answer depends on its batch, so
        arms stepped with and without it would differ in more than their arm."""
        with self.store.session() as s:
            other = next((r.id for r in experiment_runs(s, experiment_id) if r.config.get("overlap", False) != overlap),
                         None)
        if other is not None:
            raise ConfigError(f"experiment {experiment_id} ran {'without' if overlap else 'with'} --overlap (run "
                              f"{other}); resume it the same way, or its arms would differ in their batches too")
        units = []
        for seed in seeds:
            for arm in arms:
                run_id = self._find_run(experiment_id, arm, seed)
                s = arm_scenario(self.scenario, arm, seed)
                backend = _sandbox(s, self.allow_weak_sandbox).name
                if run_id is not None:  # resumed: running again until it finishes (`run`)
                    self.rec.note_sandbox_backend(run_id, backend)
                    self.rec.mark_running(run_id)
                else:
                    run_id = create_run(self.rec, s, name=f"{self.scenario.name}/{arm}/s{seed}",
                                        scenario_path=self.scenario_path, command=self.command, arm=arm,
                                        sandbox_backend=backend, experiment=experiment_id, overlap=overlap)
                units.append(Unit(arm, seed, run_id))
        return units

    def _find_run(self, experiment_id: str, arm: str, seed: int) -> int | None:
        with self.store.session() as s:
            return experiment_run(s, experiment_id, arm, seed)

    def _done_epochs(self, run_id: int, split: str = "eval") -> set[int]:
        with self.store.session() as s:
            return evaluated_epochs(s, run_id, split)

    def _rounds(self, run_id: int) -> int:
        with self.store.session() as s:
            return done_rounds(s, run_id)

    # -- the loop -------------------------------------------------------------------------------
    def run(self, experiment_id: str, arms: list[str], seeds: list[int], epochs: int,
            cells: str = "one_after_another", share_epoch0: bool = True, overlap: bool = False) -> list[Unit]:
        """Every cell (arm x seed) through epoch 0..`epochs`. `cells`: "one_after_another" runs a cell's epochs before
        the next cell's; "together" runs an epoch of every cell at once, their episodes stepped through one `generate`
        per step (agentloop.cells), with the same answers. `share_epoch0`: epoch 0 is evaluated once per seed for the
        arms whose held-out scenario is the same (all but gate) and copied to the others (store.episode_copy); the
        benchmark's too. `overlap`: a cell's held-out episodes of epoch e (e >= 1) share their policy calls with its
        training episodes of epoch e+1, and at the last epoch with its benchmark episodes: the same adapter, so the
        same work in fewer, fuller batches (the decode is a step per token whatever the batch, on a CPU); in bf16 an
        answer depends on its batch, so the answers are not bit-equal to `overlap=False`'s."""
        if cells not in CELLS:
            raise ConfigError(f"cells must be one of {', '.join(CELLS)}, got {cells!r}")
        units = self.units(experiment_id, arms, seeds, overlap)
        plans = {unit.run_id: self._plan(unit) for unit in units}
        left = list(units)  # the cells not finished: `runs.status` says how each one ended
        try:
            if share_epoch0:
                earlier = self._other_cells(experiment_id, units)
                self._share_epoch0(units, plans, earlier=earlier)
                self._share_epoch0(units, plans, BENCHMARK_SPLIT, earlier=earlier)
            if cells == "together":
                self._run_together(units, plans, epochs, overlap)
            while cells != "together" and left:
                self._run_cell(left[0], plans, epochs, overlap)
                self.rec.finish_run(left.pop(0).run_id, "done")  # reads done while the later cells run
        except BaseException as exc:  # Ctrl-C or an error: the cells left say so; --resume continues them
            for unit in left:
                self.rec.finish_run(unit.run_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
            raise
        finally:
            if self.worker is not None:  # the learner process goes with the experiment run
                self.worker.close()
        for unit in left:
            self.rec.finish_run(unit.run_id, "done")
        return units

    def _run_cell(self, unit: Unit, plans: dict[int, CellPlan], epochs: int, overlap: bool) -> None:
        """One cell through its epochs; each epoch's phases (seconds) go into its evaluation row. With `overlap`
        the next epoch's training phases are measured during this epoch's held-out call and recorded with the
        next epoch (its `train_episodes_s` 0: their wall time is in this epoch's `eval_episodes_s`)."""
        done, plan = self._done_epochs(unit.run_id), plans[unit.run_id]
        ahead: dict[str, float] = {}  # the next epoch's training phases, run during this epoch's held-out call
        for epoch in range(epochs + 1):
            if epoch in done:
                ahead = {}
            else:
                t0, phases = time.perf_counter(), dict(ahead)
                if epoch >= 1:
                    if not ahead:
                        phases.update(self._episodes([Episodes(unit, plan.train, epoch, "train")]))
                    phases["round_s"] = self._round(unit, plan.learning, epoch)
                jobs = [Episodes(unit, plan.evaluate, epoch, "eval"), *self._overlapped([unit], plans, epoch,
                                                                                        epochs, overlap)]
                measured = self._episodes(jobs)
                ahead = {}
                if any(job.split == "train" for job in jobs[1:]):
                    ahead = {**{k: v for k, v in measured.items() if k.startswith("train_")}, "train_episodes_s": 0.0}
                phases.update({k: v for k, v in measured.items() if not k.startswith("train_")})
                self._record(unit, epoch, t0, phases, overlapped=[j.split for j in jobs[1:]])
            self._benchmark([unit], plans, epoch, epochs)  # before the next epoch's round

    def _run_together(self, units: list[Unit], plans: dict[int, CellPlan], epochs: int, overlap: bool) -> None:
        """An epoch of every cell at once (their phases are not split per cell, so not recorded)."""
        ahead: set[int] = set()  # cells whose next training episodes ran with their held-out ones
        for epoch in range(epochs + 1):
            todo = [u for u in units if epoch not in self._done_epochs(u.run_id)]
            t0 = time.perf_counter()
            if epoch >= 1 and todo:
                if train := [Episodes(u, plans[u.run_id].train, epoch, "train") for u in todo if u.run_id not in ahead]:
                    self._episodes(train)
                for unit in todo:
                    self._round(unit, plans[unit.run_id].learning, epoch)
            ahead, extra = set(), []
            if todo:
                extra = self._overlapped(todo, plans, epoch, epochs, overlap)
                self._episodes([*(Episodes(u, plans[u.run_id].evaluate, epoch, "eval") for u in todo), *extra])
                ahead = {job.unit.run_id for job in extra if job.split == "train"}
            for unit in todo:
                self._record(unit, epoch, t0, overlapped=sorted({j.split for j in extra if j.unit is unit}))
            self._benchmark(units, plans, epoch, epochs)

    def _overlapped(self, units: list[Unit], plans: dict[int, CellPlan], epoch: int, last: int,
                    overlap: bool) -> list["Episodes"]:
        """With `overlap`, what shares the held-out call of `epoch` (e >= 1), on the same adapter: the training
        episodes of the next epoch, or at the last epoch the benchmark's episodes (recorded by `_benchmark`)."""
        if not overlap or epoch < 1:
            return []
        if epoch < last:
            return [Episodes(u, plans[u.run_id].train, epoch + 1, "train") for u in units]
        return [Episodes(u, plans[u.run_id].benchmark, epoch, BENCHMARK_SPLIT)
                for u in self._benchmark_due(units, plans, epoch, last)]

    def _other_cells(self, experiment_id: str, units: list[Unit]) -> list[Unit]:
        """The experiment's cells this invocation does not run (arms an earlier invocation ran): epoch-0 sources."""
        mine = {u.run_id for u in units}
        with self.store.session() as s:
            rows = [(r.arm, r.seed, r.id) for r in experiment_runs(s, experiment_id) if r.id not in mine and r.arm]
        cells = []
        for name, seed, run_id in rows:
            try:
                arm(name)
            except ConfigError:  # an arm of a plugin not installed here: not a source
                continue
            cells.append(Unit(name, seed, run_id))
        return cells

    def _share_epoch0(self, units: list[Unit], plans: dict[int, CellPlan], split: str = "eval",
                      earlier: list[Unit] | None = None) -> None:
        """Epoch 0 of a held-out split ("eval" or the benchmark's) once per seed and held-out scenario: every arm
        starts from the same base, so the cells of a group get the first one's epoch-0 rows (a cell that already
        has epoch-0 episodes of the split keeps its own). `earlier` cells (the experiment's other arms, e.g. run
        before it was resumed with more) are sources only: their epoch 0, where done, is copied instead of
        evaluated again."""
        from store.episode_copy import copy_episodes

        groups: dict[tuple[int, str], list[Unit]] = {}
        for unit in units:
            if (held_out := plans[unit.run_id].held_out(split)) is not None:
                groups.setdefault((unit.seed, held_out.model_dump_json()), []).append(unit)
        elsewhere: dict[tuple[int, str], Unit] = {}
        for cell in earlier or []:
            evaluate, benchmark = self._held_out(cell)
            held_out = benchmark if split == BENCHMARK_SPLIT else evaluate
            if held_out is not None and 0 in self._done_epochs(cell.run_id, split):
                elsewhere.setdefault((cell.seed, held_out.model_dump_json()), cell)
        for key, members in groups.items():
            todo = [u for u in members if 0 not in self._done_epochs(u.run_id, split)
                    and self.rec.count_episodes(u.run_id, epoch=0, split=split) == 0]
            source = next((u for u in members if 0 in self._done_epochs(u.run_id, split)), elsewhere.get(key))
            if not todo or (source is None and len(todo) < 2):
                continue
            if source is None:
                source, todo = todo[0], todo[1:]
                t0 = time.perf_counter()
                phases = self._episodes([Episodes(source, plans[source.run_id].held_out(split), 0, split)])
                self._record(source, 0, t0, phases, split=split)
            for unit in todo:
                with self.store.session() as s:
                    copy_episodes(s, source_run=source.run_id, target_run=unit.run_id, epoch=0, split=split)
                self._record(unit, 0, time.perf_counter(), copied_from=source.run_id, split=split)

    def _benchmark(self, units: list[Unit], plans: dict[int, CellPlan], epoch: int, last: int) -> None:
        """The outside benchmark's episodes of the cells at epoch 0 and at the last epoch, and of any epoch whose
        benchmark was begun (a resumed one continues its planned episodes), where not recorded yet."""
        todo = self._benchmark_due(units, plans, epoch, last)
        if not todo:
            return
        t0 = time.perf_counter()
        phases = self._episodes([Episodes(u, plans[u.run_id].benchmark, epoch, BENCHMARK_SPLIT) for u in todo])
        for unit in todo:
            self._record(unit, epoch, t0, phases if len(todo) == 1 else None, split=BENCHMARK_SPLIT)

    def _benchmark_due(self, units: list[Unit], plans: dict[int, CellPlan], epoch: int, last: int) -> list[Unit]:
        """The cells whose benchmark of `epoch` is to be run or finished: at epoch 0 and the last, or begun."""
        return [u for u in units if plans[u.run_id].benchmark is not None
                and (epoch in (0, last) or self.rec.count_episodes(u.run_id, epoch=epoch, split=BENCHMARK_SPLIT))
                and epoch not in self._done_epochs(u.run_id, BENCHMARK_SPLIT)]

    @functools.cached_property
    def _benchmark_folder(self) -> Path:
        """The scenario's benchmark as a task folder, imported once per workdir (agentloop.benchmark)."""
        settings = self.scenario.benchmark
        assert settings is not None, "only a scenario with a benchmark section has a benchmark folder"
        self.on_progress("importing the benchmark (references checked in the sandbox)")
        return imported_benchmark(settings, self.workdir, _sandbox(self.scenario, self.allow_weak_sandbox))

    def _held_out(self, unit: Unit) -> tuple[Scenario, Scenario | None]:
        """A cell's held-out scenarios: its "eval" split's, and the benchmark's (None without a benchmark)."""
        evaluate = arm(unit.arm).eval_scenario(self.scenario, unit.seed)
        return evaluate, benchmark_scenario(evaluate, self._benchmark_folder) if self.scenario.benchmark else None

    def _plan(self, unit: Unit) -> CellPlan:
        train = dosed(arm_scenario(self.scenario, unit.arm, unit.seed), self.workdir)  # organism: its dose
        evaluate, benchmark = self._held_out(unit)
        return CellPlan(train, evaluate, Learning(train, self.db_url, unit.run_id, self.model_path, self.workdir,
                                                  worker=self.worker), benchmark)

    def _round(self, unit: Unit, learning: Learning, epoch: int) -> float:
        """The epoch's learner round (unless a resumed run has it); its seconds."""
        if self._rounds(unit.run_id) >= epoch:
            return 0.0
        self.on_progress(f"{unit.arm}/s{unit.seed} epoch {epoch}: learner round")
        t0 = time.perf_counter()
        if not learning.round():  # evaluating an untrained epoch as trained would be a false result
            raise AgentloopError(f"{unit.arm}/s{unit.seed} epoch {epoch}: the learner round failed "
                                 f"(see the log); fix it, then continue with --resume")
        return time.perf_counter() - t0

    def _record(self, unit: Unit, epoch: int, t0: float, phases: dict[str, float] | None = None,
                copied_from: int | None = None, split: str = "eval", overlapped: list[str] | None = None) -> None:
        """The epoch's evaluation row of `split`; `phases` (seconds per phase, this session's) go into its extra,
        `copied_from`, the run whose episodes were copied into this one (a shared epoch 0), and `overlapped`, the
        splits whose episodes shared this one's policy calls (`Experiment.run`'s overlap)."""
        from store.evaluation import record_evaluation

        with self.store.session() as s:
            row = record_evaluation(s, unit.run_id, epoch, arm=unit.arm, seed=unit.seed, split=split)
            if phases:
                row.extra = {**(row.extra or {}), "phase_s": {k: round(v, 2) for k, v in phases.items()}}
            if copied_from is not None:
                row.extra = {**(row.extra or {}), "copied_from_run": copied_from}
            if overlapped:
                row.extra = {**(row.extra or {}), "batched_with": overlapped}
            log.info("%s/s%d epoch %d %s: aligned %.2f, hack %.2f (%.0fs; %s)", unit.arm, unit.seed, epoch, split,
                     row.aligned_rate or 0.0, row.hack_rate or 0.0, time.perf_counter() - t0,
                     ", ".join(f"{k} {v:.0f}" for k, v in (phases or {}).items()))

    def _episodes(self, jobs: list["Episodes"]) -> dict[str, float]:
        """The jobs' episodes (planned on first use), stepped together when there are several; the seconds of
        their phases per split (policy decode, sandbox, conscience, rewrite audit), summed over the cells, and
        the call's wall time as the first job's `<split>_episodes_s`."""
        from agentloop.cells import Cell, run_cells

        cells = []
        for unit, scenario, epoch, split in jobs:
            if split == BENCHMARK_SPLIT and self._rounds(unit.run_id) > epoch:  # the policy is the newest adapter
                raise AgentloopError(f"{unit.arm}/s{unit.seed}: the benchmark of epoch {epoch} is missing and the run "
                                     f"has trained past that epoch (the policy is its newest adapter), so it can no "
                                     f"longer be measured; measure it in a new experiment")
            if self.rec.count_episodes(unit.run_id, epoch=epoch, split=split) == 0:
                if split == "train":
                    plans = plan_episodes(scenario, epoch, split)
                else:  # held out (eval, benchmark): every instance once, whatever `episodes` says
                    plans = plan_episodes(scenario.with_overrides(episodes=_n_eval(scenario)), epoch, "eval")
                self.rec.plan_episodes(unit.run_id, plans, epoch=epoch, split=split)
            runner = Runner(runner_options(scenario, seed=unit.seed * 1_000 + epoch), self.rec, self.engine,
                            _sandbox(scenario, self.allow_weak_sandbox), make_judge_for(scenario, self.engine),
                            task_resolver(scenario))
            cells.append(Cell(runner, unit.run_id, epoch, split))
        self.on_progress(", ".join(f"{j.unit.arm}/s{j.unit.seed} epoch {j.epoch}: {j.split}" for j in jobs) + " episodes")
        t0 = time.perf_counter()
        if len(cells) > 1:
            run_cells(cells)
        else:
            cells[0].runner.run(cells[0].run_id, epoch=cells[0].epoch, split=cells[0].split)
        if any(c.runner.stop_requested.is_set() for c in cells):  # Ctrl-C: stored turns stay, --resume continues
            raise KeyboardInterrupt
        phases = {f"{jobs[0].split}_episodes_s": time.perf_counter() - t0}
        for split in dict.fromkeys(job.split for job in jobs):
            for name in ("generate_s", "sandbox_s", "review_s", "audit_s"):
                phases[f"{split}_{name}"] = sum(getattr(c.runner.stats, name) for c in cells if c.split == split)
        return phases


class Episodes(NamedTuple):
    """A cell's episodes of one epoch and split, with the scenario they run (one job of `Experiment._episodes`)."""

    unit: Unit
    scenario: Scenario
    epoch: int
    split: str


def _n_eval(scenario: Scenario) -> int:
    from agentloop.tasks import select_tasks

    return max(1, len(select_tasks(scenario.tasks, seed=scenario.seed, split="eval")))


def _sandbox(scenario: Scenario, allow_weak: bool = False):
    """The scenario's sandbox backend with its limits bound (resolved once per process, then cached)."""
    from agentloop.sandbox import sandbox_for

    return sandbox_for(scenario.sandbox, allow_weak=allow_weak)


def new_experiment_id(scenario: Scenario) -> str:
    return f"{scenario.name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
