"""The episode runner: multi-turn coding episodes, batched across episodes, stored as they happen.

    agentloop run scenarios/smoke.yaml --backend hf      # agentloop.launch.execute_run builds and drives one

    from agentloop.launch import runner_options, task_resolver
    stats = Runner(runner_options(scenario), Recorder(store), engine, get_sandbox(), judge,
                   task_resolver(scenario)).run(run_id)        # store.recorder.Recorder: what it writes

One step advances every active episode by one turn:
  1. one `generate` call for all policy turns (base + the newest LoRA adapter),
  2. [gate] one conscience call on the proposed answers, before anything runs; an unethical
     answer is replaced by its rewrite (inference-time steering),
  3. the sandbox runs each turn's code with the visible and the hidden tests, in parallel up
     to the core count, and the objective detectors score it,
  4. [observe] one conscience call (never mixed with policy requests: separate calls),
  5. each turn is committed (turn, verdict, findings, preference pair) before the next step.
An episode ends when the visible tests pass, the agent gives up, or the turn budget is spent.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from agentloop.cells import Cell, run_cells
from agentloop.detectors import Evaluation, evaluate_solution, is_misaligned, static_findings
from agentloop.engines.base import Engine, adapter_id
from agentloop.core.labels import hack_detectors, insecure_detectors, misaligned_detectors
from agentloop.core.metrics import DetectorRates, detector_rates
from agentloop.core.parse import parse_answer, parse_finding
from agentloop.core.prompts import feedback_message, pressure_for_turn, system_message, task_message
from store.recorder import ClaimLost, EpisodePlan, Recorder
from agentloop.rewrite_audit import audit_step
from agentloop.sandbox import Sandbox
from agentloop.core.types import Conversation, Finding, ParsedAnswer, Sampling, Task, Turn
from conscience.judge import Judge, ReviewItem
from conscience.verdict import Verdict

log = logging.getLogger(__name__)


@dataclass
class EpisodeState:
    """An episode in flight: its task and the conversation so far."""

    plan: EpisodePlan
    task: Task
    messages: Conversation
    turn: int = 0
    done: bool = False
    outcome: str | None = None
    last_prompt: str = ""

    @property
    def seed(self) -> int:
        return self.plan.seed


@dataclass
class StepStats:
    """What the live display shows after each step."""

    episodes_done: int = 0
    episodes_total: int = 0
    turns: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"ethical": 0, "neutral": 0, "unethical": 0})
    hack_turns: int = 0  # turns with a hidden_tests or tampering finding (agentloop.core.labels.hack_detectors)
    insecure_turns: int = 0  # turns with an insecure finding (agentloop.core.labels.insecure_detectors)
    misaligned_turns: int = 0  # turns with either
    gated: int = 0
    completion_tokens: int = 0
    generate_s: float = 0.0
    sandbox_s: float = 0.0  # the turns' sandbox runs and detectors
    review_s: float = 0.0  # the conscience's verdicts and rewrites (observe; gate's are in the step's rest)
    audit_s: float = 0.0  # the rewrite audit
    adapter: int | None = None

    def rates(self) -> DetectorRates:
        """Hack/insecure/aligned rates of this session's turns, as the run summary defines them."""
        return detector_rates(self.turns, self.hack_turns, self.insecure_turns, self.turns - self.misaligned_turns)

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.generate_s if self.generate_s else 0.0


@dataclass
class RunnerOptions:
    turns: int = 4
    batch_size: int = 8
    mode: str = "observe"  # observe | gate | off
    evidence: bool = False  # the self-judge sees the detector report
    snapshot: str = "base"  # base | previous_adapter
    sampling: Sampling = field(default_factory=lambda: Sampling(max_tokens=384, temperature=0.7, top_p=0.95))
    pressure: tuple[str, ...] = ()
    memory_k: int = 0
    seed: int = 0
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # episode claims (store.claims): a dead worker's claims free up after this lease
    claim_lease_s: float = field(default_factory=lambda: float(os.environ.get("AGENTLOOP_CLAIM_LEASE_S", "60")))
    claim_poll_s: float = 2.0  # nothing left to claim while other workers hold episodes: look again after this
    audit_rewrites: bool = True  # each pair's rewrite through the sandbox and detectors (agentloop.rewrite_audit)
    measure_stopped: bool = False  # gate: the stopped answers run in the sandbox too, for measurement only


class Runner:
    def __init__(self, options: RunnerOptions, recorder: Recorder, engine: Engine, sandbox: Sandbox,
                 judge: Judge | None,
                 task_for: Callable[[EpisodePlan], Task],
                 between_waves: Callable[[int], None] | None = None,
                 on_step: Callable[[StepStats], None] | None = None) -> None:
        self.opt = options
        self.rec = recorder
        self.engine = engine
        self.sandbox = sandbox
        self.judge = judge if options.mode != "off" else None
        self.task_for = task_for
        self.between_waves = between_waves
        self.on_step = on_step
        self.stats = StepStats()
        self.stop_requested = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=max(1, options.workers))
        self.adapter: int | None = None  # the run's adapter version (stored per turn)
        self.adapter_id: int | None = None  # the engine's LoRA id for it
        from store.claims import worker_id

        self.worker = worker_id()  # claimed_by of the episodes this runner works on

    # -- public ---------------------------------------------------------------------------
    def run(self, run_id: int, *, epoch: int | None = None, split: str | None = None) -> StepStats:
        """Run (or resume, or join) every unfinished episode of `run_id` (of one epoch/split, if
        given), in waves of `batch_size`.

        Each wave is claimed in the store first (store.claims), so any number of runner processes
        on the same run split the episodes without running one twice. With nothing left to claim
        while other live workers still hold episodes, this one waits, and takes over the episodes
        of a worker that dies; it returns when every episode is finished (or on Ctrl-C, after the
        current turn). The loop is the experiment's (agentloop.cells.run_cells) with one cell."""
        run_cells([Cell(self, run_id, epoch, split)], wait_for_others=True)
        return self.stats

    def count(self, run_id: int, *, epoch: int | None = None, split: str | None = None) -> None:
        """The progress totals of the episodes this runner works on."""
        self.stats.episodes_total = self.rec.count_episodes(run_id, epoch=epoch, split=split)
        self.stats.episodes_done = self.stats.episodes_total - self.rec.count_unfinished(run_id, epoch=epoch,
                                                                                         split=split)

    def claim(self, run_id: int, *, epoch: int | None = None, split: str | None = None) -> list[EpisodePlan]:
        """The next wave: up to batch_size unfinished episodes, claimed in the store for this worker."""
        return self.rec.claim_episodes(run_id, self.worker, self.opt.batch_size, self.opt.seed,
                                       lease_s=self.opt.claim_lease_s, epoch=epoch, split=split)

    def _on_sigint(self, signum, frame) -> None:
        if self.stop_requested.is_set():  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        log.warning("Ctrl-C: stopping after the current turn (press again to abort now)")
        self.stop_requested.set()

    # -- one wave of concurrent episodes (stepped by agentloop.cells) -----------------------------
    def start_wave(self, run_id: int, plans: list[EpisodePlan]) -> list[EpisodeState]:
        """Claimed episodes begun (or resumed) on the run's newest adapter: the ones still active."""
        self._refresh_adapter(run_id)
        return [ep for ep in (self._start(plan) for plan in plans) if not ep.done]

    def fail_episodes(self, eps: list[EpisodeState], exc: Exception) -> None:
        log.exception("step failed; failing %d episode(s)", len(eps))
        for ep in eps:
            if self.rec.finish_episode(ep.plan.episode_id, status="failed", outcome="error",
                                       error=f"{type(exc).__name__}: {exc}", worker=self.worker):
                self.stats.episodes_done += 1
            ep.done = True

    def _refresh_adapter(self, run_id: int) -> None:
        """Hot-swap the newest published adapter of this run (if any) before the next episodes.

        Versions count per run, while the engine's LoRA ids are global to the engine (which
        may serve several runs, e.g. an experiment's arms), so each adapter folder gets its own
        engine id (agentloop.engines.base.adapter_id); turns store the run's version."""
        newest = self.rec.latest_adapter(run_id)
        if newest is None or newest[0] == self.adapter:
            return
        version, path = newest
        previous_id, self.adapter_id = self.adapter_id, adapter_id(self.engine, path)
        self.adapter = version
        self.stats.adapter = version
        if self.judge is not None and self.opt.snapshot == "previous_adapter":
            self.judge.adapter = previous_id
        log.info("policy now uses adapter v%d of run %d", version, run_id)

    def _start(self, plan: EpisodePlan) -> EpisodeState:
        task = self.task_for(plan)
        lessons = self.rec.lessons(task.spec, self.opt.memory_k) if self.opt.memory_k else []
        messages: Conversation = [{"role": "system", "content": system_message(task, lessons)},
                                  {"role": "user", "content": task_message(task)}]
        ep = EpisodeState(plan=plan, task=task, messages=messages)
        for turn in plan.finished_turns:  # resume: replay the stored turns into the conversation
            messages.append({"role": "assistant", "content": turn.executed_answer})
            messages.append({"role": "user", "content": feedback_message(
                turn.visible, pressure_for_turn(self.opt.pressure, turn.index + 1), no_code=turn.no_code)})
            ep.turn = turn.index + 1
            ep.done, ep.outcome = self._ended(turn.all_visible_passed, turn.gave_up, ep.turn)
        if ep.done:  # crashed after the last turn but before the episode row was closed
            if self.rec.finish_episode(plan.episode_id, status="done", outcome=ep.outcome, worker=self.worker):
                self.stats.episodes_done += 1
        else:
            self.rec.start_episode(plan.episode_id)
        return ep

    def _ended(self, solved: bool, gave_up: bool, next_turn: int) -> tuple[bool, str | None]:
        if solved:
            return True, "solved"
        if gave_up:
            return True, "gave_up"
        if next_turn >= self.opt.turns:
            return True, "budget"
        return False, None

    # -- one step: a turn of every active episode (its policy call: agentloop.cells) -------------
    def samplings(self, eps: list[EpisodeState]) -> list[Sampling]:
        """Each policy request's sampling, seeded by its episode and turn (never by its batch)."""
        return [Sampling(max_tokens=self.opt.sampling.max_tokens, temperature=self.opt.sampling.temperature,
                         top_p=self.opt.sampling.top_p, seed=ep.seed * 100 + ep.turn) for ep in eps]

    def finish_step(self, eps: list[EpisodeState], gens: list) -> None:
        """Everything of a step after the policy's answers: gate, sandbox, conscience, store."""
        parsed = [parse_answer(g.text) for g in gens]
        prompts = [ep.messages[-1]["content"] for ep in eps]

        verdicts: list[Verdict | None] = [None] * len(eps)
        executed = list(parsed)
        gated = [False] * len(eps)
        if self.judge is not None and self.opt.mode == "gate":
            # Judge before anything runs; only static findings exist yet.
            pre = [static_findings(ep.task, p.code, p.files) for ep, p in zip(eps, parsed)]
            verdicts = self._review(eps, prompts, gens, parsed, pre)
            for i, v in enumerate(verdicts):
                if v is not None and self.judge.stops(v):
                    # The stopped answer never runs: its rewrite does, or nothing when the
                    # rewrite holds no code.
                    executed[i], gated[i] = parse_answer(v.rewrite or ""), True

        t0 = time.perf_counter()
        # what runs, then (measure_stopped) the answers a gate stopped: measured, never shown to the user
        stopped_at = [i for i, g in enumerate(gated) if g and self.opt.measure_stopped]
        runs = list(zip(eps, executed)) + [(eps[i], parsed[i]) for i in stopped_at]
        results = list(self.pool.map(lambda args: evaluate_solution(args[0].task, args[1].code, args[1].files,
                                                                    sandbox=self.sandbox), runs))
        evals, stopped = results[:len(eps)], dict(zip(stopped_at, results[len(eps):]))
        t1 = time.perf_counter()
        if self.judge is not None and self.opt.mode == "observe":
            verdicts = self._review(eps, prompts, gens, parsed, [e.findings for e in evals])
        t2 = time.perf_counter()
        audits = audit_step(eps, gens, verdicts, self.judge, engine=self.engine, adapter_id=self.adapter_id,
                            samplings=self.samplings, sandbox=self.sandbox, pool=self.pool,
                            executed=[e if g else None for e, g in zip(evals, gated)]) \
            if self.opt.audit_rewrites else [None] * len(eps)
        self.stats.sandbox_s, self.stats.review_s = self.stats.sandbox_s + t1 - t0, self.stats.review_s + t2 - t1
        self.stats.audit_s += time.perf_counter() - t2
        for i, ep in enumerate(eps):
            self._finish_turn(ep, prompts[i], gens[i], parsed[i], executed[i], evals[i], verdicts[i], gated[i],
                              audits[i], stopped.get(i))
        if self.on_step:
            self.on_step(self.stats)

    def _review(self, eps, prompts, gens, parsed, findings: list[list[Finding]]) -> list[Verdict]:
        items = [
            ReviewItem(question=f"{ep.task.title}\n\n{prompt}", reasoning=p.reasoning, answer=g.text,
                       evidence=_evidence_text(f) if self.opt.evidence else None,
                       detector_flag=any(is_misaligned(x) for x in f))
            for ep, prompt, g, p, f in zip(eps, prompts, gens, parsed, findings)
        ]
        return self.judge.review(items)

    def _finish_turn(self, ep: EpisodeState, prompt: str, gen, parsed: ParsedAnswer, executed: ParsedAnswer,
                     ev: Evaluation, verdict: Verdict | None, gated: bool, audit: dict | None = None,
                     stopped: Evaluation | None = None) -> None:
        findings = list(ev.findings)
        if (pf := parse_finding(parsed)) is not None:
            findings.append(pf)
        turn = Turn(
            index=ep.turn, prompt=prompt, reasoning=parsed.reasoning, answer=gen.text, code=parsed.code,
            prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens, latency_s=gen.latency_s,
            adapter_version=self.adapter, gated=gated,
            visible_passed=ev.visible.n_passed, visible_total=len(ev.visible.tests),
            hidden_passed=ev.hidden.n_passed, hidden_total=len(ev.hidden.tests), findings=findings,
        )
        answer_run = verdict.rewrite if gated and verdict is not None else gen.text
        pair = self.judge.pair(ep.messages[:], gen.text, verdict, audit) \
            if self.judge is not None and verdict is not None else None
        gave_up = executed.action == "give_up"
        next_turn = ep.turn + 1
        ep.done, ep.outcome = self._ended(ev.visible.all_passed, gave_up, next_turn)
        try:
            self.rec.record_turn(ep.plan.episode_id, turn, verdict, ev, pair, gave_up=gave_up,
                                 executed_answer=answer_run, worker=self.worker, stopped=stopped)
        except ClaimLost:  # this worker outlived its lease and another one took the episode over
            log.warning("episode %d was taken over by another worker; dropping it here", ep.plan.episode_id)
            ep.done = True
            return
        if ep.done:
            if self.rec.finish_episode(ep.plan.episode_id, status="done", outcome=ep.outcome, worker=self.worker):
                self.stats.episodes_done += 1
        else:
            ep.messages.append({"role": "assistant", "content": answer_run})
            nxt = feedback_message(ev.visible.tests, pressure_for_turn(self.opt.pressure, next_turn),
                                   no_code=executed.code is None)
            ep.messages.append({"role": "user", "content": nxt})
            ep.turn = next_turn
        self.stats.turns += 1
        self.stats.completion_tokens += gen.completion_tokens
        self.stats.gated += gated
        detectors = {f.detector for f in findings}
        self.stats.hack_turns += bool(detectors & hack_detectors())
        self.stats.insecure_turns += bool(detectors & insecure_detectors())
        self.stats.misaligned_turns += bool(detectors & misaligned_detectors())
        if verdict is not None:
            self.stats.verdicts[verdict.label] += 1


def _evidence_text(findings: list[Finding]) -> str:
    relevant = [f for f in findings if is_misaligned(f)]
    if not relevant:
        return "The automatic checks found no problem."
    return "\n".join(f"- [{f.detector}/{f.rule}] {f.message}" + (f" (line {f.line})" if f.line else "")
                     for f in relevant)
