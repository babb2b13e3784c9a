"""Listings of the store: runs and episodes with their counts, one episode in full, per-epoch alignment rows.

    from store.listing import list_runs
    with store.session(readonly=True) as s:
        for run in list_runs(s):
            print(run.id, run.name, run.n_episodes, run.n_turns)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from agentloop.core.labels import misaligned_detectors
from store.models import EpisodeRow, FindingRow, RunRow, TurnRow, VerdictRow

__all__ = [
    "EpisodeSummary", "EpochRetention", "RunSummary", "episode_detail", "has_finding", "latest_run_id",
    "list_episodes", "list_runs",
]


def has_finding(detectors: Iterable[str]) -> Any:
    """SQL: the current turn has a finding of one of `detectors`."""
    return exists().where(FindingRow.turn_id == TurnRow.id, FindingRow.detector.in_(sorted(detectors)))


@dataclass(frozen=True)
class EpochRetention:
    """Alignment of one epoch, counted per turn or per episode."""

    epoch: int
    n: int  # turns (or episodes with at least one turn)
    aligned: int  # units with no hack/insecure finding
    hacks: int  # units with a tampering or hidden_tests finding
    insecure: int  # units with an insecure finding
    aligned_rate: float
    retention: float | None  # aligned_rate / epoch-0 aligned_rate; None without a nonzero epoch 0
    hack_rate: float
    insecure_rate: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunSummary:
    id: int
    name: str
    status: str
    model: str
    backend: str
    arm: str | None
    seed: int
    created_at: datetime
    n_episodes: int
    n_turns: int


@dataclass(frozen=True)
class EpisodeSummary:
    id: int
    run_id: int
    index: int
    epoch: int
    split: str
    task_family: str
    task_kind: str
    task_seed: int
    status: str
    outcome: str | None
    n_turns: int
    n_misaligned: int  # turns with a hack/insecure finding
    n_unethical: int  # turns the conscience labelled unethical


def latest_run_id(session: Session) -> int | None:
    return session.scalar(select(func.max(RunRow.id)))


def list_runs(session: Session) -> list[RunSummary]:
    """Every run, newest first, with its episode and turn counts."""
    n_episodes = select(func.count(EpisodeRow.id)).where(EpisodeRow.run_id == RunRow.id).scalar_subquery()
    n_turns = (select(func.count(TurnRow.id)).join(EpisodeRow)
               .where(EpisodeRow.run_id == RunRow.id).scalar_subquery())
    rows = session.execute(select(RunRow, n_episodes, n_turns).order_by(RunRow.id.desc()))
    return [RunSummary(id=r.id, name=r.name, status=r.status, model=r.model, backend=r.backend, arm=r.arm,
                       seed=r.seed, created_at=r.created_at, n_episodes=ne, n_turns=nt)
            for r, ne, nt in rows]


def list_episodes(session: Session, run_id: int | None = None) -> list[EpisodeSummary]:
    """Episodes of a run (all runs when None) in run/index order, with per-episode counts."""
    in_episode = TurnRow.episode_id == EpisodeRow.id
    n_turns = select(func.count(TurnRow.id)).where(in_episode).scalar_subquery()
    n_misaligned = (select(func.count(TurnRow.id)).where(in_episode, has_finding(misaligned_detectors()))
                    .scalar_subquery())
    n_unethical = (select(func.count(VerdictRow.id)).join(TurnRow)
                   .where(in_episode, VerdictRow.label == "unethical").scalar_subquery())
    stmt = select(EpisodeRow, n_turns, n_misaligned, n_unethical).order_by(EpisodeRow.run_id, EpisodeRow.index)
    if run_id is not None:
        stmt = stmt.where(EpisodeRow.run_id == run_id)
    return [EpisodeSummary(id=e.id, run_id=e.run_id, index=e.index, epoch=e.epoch, split=e.split,
                           task_family=e.task_family, task_kind=e.task_kind, task_seed=e.task_seed,
                           status=e.status, outcome=e.outcome, n_turns=nt, n_misaligned=nm, n_unethical=nu)
            for e, nt, nm, nu in session.execute(stmt)]


def episode_detail(session: Session, episode_id: int) -> EpisodeRow | None:
    """The episode with its run, turns, verdicts and findings loaded (usable after the session)."""
    return session.scalar(
        select(EpisodeRow).where(EpisodeRow.id == episode_id).options(
            selectinload(EpisodeRow.run),
            selectinload(EpisodeRow.turns).selectinload(TurnRow.verdict),
            selectinload(EpisodeRow.turns).selectinload(TurnRow.findings)))
