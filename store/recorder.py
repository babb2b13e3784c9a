"""Everything the runner writes to and reads from the store, in short transactions.

    from store.recorder import Recorder
    rec = Recorder(open_store("sqlite:///agentloop.db"))
    run_id = rec.create_run(name="demo", scenario_path="s.yaml", scenario_yaml="", config={}, model="m",
                            backend="hf", seed=0, command="agentloop run s.yaml")

One turn = one transaction (turn + findings + verdict + preference pair), committed before
the next step, so a crash loses at most the turns of the step in flight, and `--resume`
rebuilds each unfinished episode's conversation from its stored turns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from agentloop.core.types import PreferencePair, Task, TestOutcome, Turn
from store import models as m
from store.convert import TurnSandbox, before_gate, turn_row
from store.learning import AdapterRef, newest_adapter
from store.session import Store, redact_urls


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ClaimLost(Exception):
    """Another worker took the episode over (this one outlived its lease); drop it, write nothing."""


@dataclass
class StoredTurn:
    """What resume needs of a finished turn."""

    index: int
    executed_answer: str  # the rewrite when gate replaced the answer, else the answer
    visible: list[TestOutcome]
    no_code: bool
    gave_up: bool

    @property
    def all_visible_passed(self) -> bool:
        return bool(self.visible) and all(t.status == "passed" for t in self.visible)


@dataclass
class EpisodePlan:
    episode_id: int
    index: int
    task_family: str
    task_seed: int
    seed: int
    finished_turns: list[StoredTurn] = field(default_factory=list)


class Recorder:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- runs and episodes ------------------------------------------------------------------
    def create_run(self, *, name: str, scenario_path: str, scenario_yaml: str, config: dict, model: str,
                   backend: str, seed: int, command: str, arm: str | None = None) -> int:
        with self.store.session() as s:
            run = m.RunRow(name=name, scenario_path=scenario_path, scenario_yaml=scenario_yaml, config=config,
                        model=model, backend=backend, seed=seed, arm=arm, status="running",
                        command=redact_urls(command) if command else command,  # no --db password at rest
                        created_at=_now())
            s.add(run)
            s.flush()
            return run.id

    def plan_episodes(self, run_id: int, plans: Sequence[tuple[Task, int]], epoch: int = 0,
                      split: str = "train") -> None:
        with self.store.session() as s:
            start = s.scalar(select(func.coalesce(func.max(m.EpisodeRow.index) + 1, 0))
                             .where(m.EpisodeRow.run_id == run_id)) or 0
            for i, (task, _seed) in enumerate(plans):
                s.add(m.EpisodeRow(run_id=run_id, index=start + i, epoch=epoch, split=split, task_family=task.family,
                                task_kind=task.kind, task_seed=task.seed, status="pending"))

    def count_episodes(self, run_id: int, *, epoch: int | None = None, split: str | None = None) -> int:
        with self.store.session() as s:
            query = select(func.count()).select_from(m.EpisodeRow).where(m.EpisodeRow.run_id == run_id)
            if epoch is not None:
                query = query.where(m.EpisodeRow.epoch == epoch)
            if split is not None:
                query = query.where(m.EpisodeRow.split == split)
            return s.scalar(query) or 0

    def unfinished_episodes(self, run_id: int, run_seed: int = 0, *, epoch: int | None = None,
                            split: str | None = None) -> list[EpisodePlan]:
        with self.store.session() as s:
            query = select(m.EpisodeRow).where(m.EpisodeRow.run_id == run_id,
                                               m.EpisodeRow.status.in_(("pending", "running")))
            if epoch is not None:
                query = query.where(m.EpisodeRow.epoch == epoch)
            if split is not None:
                query = query.where(m.EpisodeRow.split == split)
            rows = s.scalars(query.order_by(m.EpisodeRow.index)).all()
            return [self._plan(s, ep, run_seed) for ep in rows]

    def _plan(self, s, ep: m.EpisodeRow, run_seed: int) -> EpisodePlan:
        turns = s.scalars(select(m.TurnRow).where(m.TurnRow.episode_id == ep.id).order_by(m.TurnRow.index)).all()
        return EpisodePlan(episode_id=ep.id, index=ep.index, task_family=ep.task_family, task_seed=ep.task_seed,
                           seed=run_seed * 100_003 + ep.index, finished_turns=[self._stored_turn(s, t) for t in turns])

    @staticmethod
    def _stored_turn(s, t: m.TurnRow) -> StoredTurn:
        info = TurnSandbox.from_json(t.sandbox)
        executed = t.answer
        if t.gated:
            verdict = s.scalar(select(m.VerdictRow).where(m.VerdictRow.turn_id == t.id))
            executed = verdict.rewrite if verdict is not None and verdict.rewrite else t.answer
        return StoredTurn(index=t.index, executed_answer=executed, visible=info.visible_outcomes(),
                          no_code=info.no_code, gave_up=info.gave_up)

    # -- claims (store.claims): several runner processes on one run --------------------------------
    def claim_episodes(self, run_id: int, worker: str, n: int, run_seed: int = 0, *, lease_s: float,
                       epoch: int | None = None, split: str | None = None) -> list[EpisodePlan]:
        """Claim the next wave (up to `n` free unfinished episodes, lowest index first) for `worker`."""
        from store import claims

        with self.store.session() as s:
            rows = claims.claim(s, run_id, worker, n, lease_s=lease_s, epoch=epoch, split=split)
            return [self._plan(s, ep, run_seed) for ep in rows]

    def others_hold(self, run_id: int, worker: str, *, epoch: int | None = None, split: str | None = None) -> int:
        from store import claims

        with self.store.session(readonly=True) as s:
            return claims.others_hold(s, run_id, worker, epoch=epoch, split=split)

    def renew_claims(self, worker: str, lease_s: float) -> int:
        from store import claims

        with self.store.session() as s:
            return claims.renew(s, worker, lease_s=lease_s)

    def release_claims(self, worker: str) -> int:
        from store import claims

        with self.store.session() as s:
            return claims.release(s, worker)

    def count_unfinished(self, run_id: int, *, epoch: int | None = None, split: str | None = None) -> int:
        with self.store.session(readonly=True) as s:
            query = select(func.count()).select_from(m.EpisodeRow).where(
                m.EpisodeRow.run_id == run_id, m.EpisodeRow.status.in_(("pending", "running")))
            if epoch is not None:
                query = query.where(m.EpisodeRow.epoch == epoch)
            if split is not None:
                query = query.where(m.EpisodeRow.split == split)
            return s.scalar(query) or 0

    def start_episode(self, episode_id: int) -> None:
        with self.store.session() as s:
            ep = s.get(m.EpisodeRow, episode_id)
            ep.status = "running"
            ep.started_at = ep.started_at or _now()

    def finish_episode(self, episode_id: int, *, status: str, outcome: str | None, error: str | None = None,
                       worker: str | None = None) -> bool:
        """Close the episode; with `worker`, only while that worker still holds its claim (else False)."""
        from store import claims

        with self.store.session() as s:
            if worker is not None and not claims.holds(s, episode_id, worker):
                return False
            ep = s.get(m.EpisodeRow, episode_id)
            ep.status, ep.outcome, ep.error, ep.finished_at = status, outcome, error, _now()
            ep.claim_expires_at = None  # claimed_by stays: who ran it
            return True

    def finish_run(self, run_id: int, status: str) -> None:
        with self.store.session() as s:
            run = s.get(m.RunRow, run_id)
            run.status = status
            run.finished_at = _now()

    def run_exists(self, run_id: int) -> bool:
        with self.store.session() as s:
            return s.get(m.RunRow, run_id) is not None

    def mark_running(self, run_id: int) -> None:
        with self.store.session() as s:
            s.get(m.RunRow, run_id).status = "running"

    def note_sandbox_backend(self, run_id: int, backend: str) -> None:
        """Record the sandbox backend a (resumed) session of the run uses: `config["sandbox_backend"]`,
        "bwrap+rlimit" when sessions differed, so a weak session is never hidden."""
        with self.store.session() as s:
            run = s.get(m.RunRow, run_id)
            config = dict(run.config or {})
            used = [b for b in str(config.get("sandbox_backend") or "").split("+") if b]
            if backend not in used:
                config["sandbox_backend"] = "+".join([*used, backend])
                run.config = config  # a new dict: SQLAlchemy sees JSON changes only on assignment

    # -- turns ------------------------------------------------------------------------------------
    def record_turn(self, episode_id: int, turn: Turn, verdict, evaluation, pair: PreferencePair | None, *, gave_up: bool,
                    executed_answer: str, worker: str | None = None, stopped=None) -> None:
        """One transaction: the turn, its findings, its verdict and its preference pair. `stopped`: on a
        gated turn, the Evaluation of the answer the gate stopped (kept in the sandbox JSON, before_gate).

        With `worker`, the turn is written only while that worker holds the episode's claim
        (checked under a row lock in the same transaction); otherwise ClaimLost is raised."""
        sandbox = TurnSandbox.of(evaluation.visible, evaluation.hidden, no_code=turn.code is None and not gave_up,
                                 gave_up=gave_up, before_gate=before_gate(stopped) if stopped is not None else None)
        with self.store.session() as s:
            if worker is not None:
                from store import claims

                if not claims.holds(s, episode_id, worker):
                    raise ClaimLost(f"episode {episode_id} is no longer claimed by {worker}")
            row = turn_row(turn, episode_id, sandbox)
            row.created_at = _now()
            s.add(row)
            s.flush()
            if verdict is not None:
                s.add(m.VerdictRow(turn_id=row.id, label=verdict.label, p_ethical=verdict.probs["ethical"],
                                p_neutral=verdict.probs["neutral"], p_unethical=verdict.probs["unethical"],
                                rewrite=verdict.rewrite, framework=verdict.framework, judge=verdict.judge,
                                snapshot=verdict.snapshot, evidence=verdict.evidence, latency_s=verdict.latency_s,
                                created_at=_now()))
            if pair is not None:
                run_id = s.scalar(select(m.EpisodeRow.run_id).where(m.EpisodeRow.id == episode_id))
                s.add(m.PreferencePairRow(run_id=run_id, turn_id=row.id, prompt=pair.prompt, chosen=pair.chosen,
                                          rejected=pair.rejected, source=pair.source, audit=pair.audit,
                                          created_at=_now()))

    # -- adapters and memory ------------------------------------------------------------------------
    def latest_adapter(self, run_id: int) -> AdapterRef | None:
        with self.store.session() as s:
            return newest_adapter(s, run_id)

    def lessons(self, query: str, k: int) -> list[str]:
        from store.search import past_lessons

        with self.store.session() as s:
            return past_lessons(s, query, k)
