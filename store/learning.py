"""The learner's reads and writes: rounds, adapters and preference pairs (and `agentloop learner status`).

    from store.learning import newest_adapter, rounds_overview
    with store.session() as s:
        newest_adapter(s, run_id)            # AdapterRef(version, path) of the run's newest adapter, or None
    rounds_overview("sqlite:///agentloop.db", run_id)

The one place that knows the `training_rounds`, `adapters` and `preference_pairs` columns the
learner uses; learner/round.py and learner/pairs.py call these with plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.orm import Session

from store import models as m
from store.models import utcnow
from store.session import open_store

__all__ = [
    "AdapterRef", "Session", "adapters_overview", "episodes_at_last_round", "fail_round", "fail_stale_rounds", "finish_round",
    "mark_pairs_trained", "newest_adapter", "pair_rows", "rounds_overview", "start_round",
]


class AdapterRef(NamedTuple):
    """A published adapter of a run: its version number and its folder."""

    version: int
    path: str


def newest_adapter(session: Session, run_id: int) -> AdapterRef | None:
    """The run's newest published adapter; None before the first."""
    row = session.execute(select(m.AdapterRow.version, m.AdapterRow.path).where(m.AdapterRow.run_id == run_id)
                          .order_by(m.AdapterRow.version.desc()).limit(1)).first()
    return AdapterRef(row.version, row.path) if row else None


def fail_stale_rounds(session: Session, run_id: int) -> tuple[int, set[int]]:
    """Mark the run's `running` rounds failed (call with the round lock held: they are dead); returns
    how many, and the adapter versions recorded for the run (the files to keep)."""
    recorded = set(session.scalars(select(m.AdapterRow.version).where(m.AdapterRow.run_id == run_id)))
    stale = session.execute(update(m.TrainingRoundRow)
                            .where(m.TrainingRoundRow.run_id == run_id, m.TrainingRoundRow.status == "running")
                            .values(status="failed", error="process died (found running by the next round)",
                                    finished_at=utcnow())).rowcount
    return stale or 0, recorded


def start_round(session: Session, run_id: int, version: int) -> int:
    """A `running` training_rounds row for adapter `version`; returns its id."""
    row = m.TrainingRoundRow(run_id=run_id, version=version, status="running", started_at=utcnow())
    session.add(row)
    session.flush()
    return row.id


def fail_round(session: Session, round_id: int, error: str) -> None:
    session.execute(update(m.TrainingRoundRow).where(m.TrainingRoundRow.id == round_id).values(
        status="failed", error=error[:2000], finished_at=utcnow()))


def finish_round(session: Session, *, run_id: int, round_id: int, version: int, adapter_path: str, checksum: str,
                 stats: dict[str, Any]) -> None:
    """The adapters row and the finished round (`stats`: steps, losses, n_pairs, n_task, n_replay,
    n_skipped, seconds, device), in the caller's transaction."""
    session.add(m.AdapterRow(run_id=run_id, version=version, path=adapter_path, checksum=checksum,
                             round_id=round_id, published_at=utcnow()))
    session.execute(update(m.TrainingRoundRow).where(m.TrainingRoundRow.id == round_id).values(
        status="done", finished_at=utcnow(), **stats))


def pair_rows(session: Session, run_id: int) -> Sequence[Row[Any]]:
    """The run's trainable preference pairs, oldest first: (id, prompt, chosen, rejected, first_round_id).

    Only pairs of `train` episodes (or of no episode): an `eval` episode is held out, and a pair made on it must never
    reach a learner round (the experiment's evaluation would then measure its own training data)."""
    pair = m.PreferencePairRow
    return session.execute(select(pair.id, pair.prompt, pair.chosen, pair.rejected, pair.first_round_id)
                           .outerjoin(m.TurnRow, m.TurnRow.id == pair.turn_id).outerjoin(m.EpisodeRow)
                           .where(pair.run_id == run_id, or_(pair.turn_id.is_(None), m.EpisodeRow.split == "train"))
                           .order_by(pair.id)).all()


def mark_pairs_trained(session: Session, ids: Sequence[int], round_id: int) -> None:
    """Record that `round_id` was the first round to see the pairs `ids` (pairs seen before keep theirs)."""
    if ids:
        session.execute(update(m.PreferencePairRow).where(m.PreferencePairRow.id.in_(list(ids)),
                                                          m.PreferencePairRow.first_round_id.is_(None))
                        .values(first_round_id=round_id))


def _newest_rows(db_url: str, row_type: Any, run_id: int | None, limit: int,
                 as_dict: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest `limit` rows of a run-scoped table (all runs when `run_id` is None), as dicts."""
    store = open_store(db_url, must_exist=True)
    query = select(row_type).order_by(row_type.id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(row_type.run_id == run_id)
    with store.session(readonly=True) as s:
        return [as_dict(r) for r in s.scalars(query)]


def rounds_overview(db_url: str, run_id: int | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """Newest rounds first: status, version, data counts, last loss per component, seconds."""
    return _newest_rows(db_url, m.TrainingRoundRow, run_id, limit, lambda r: {
        "round": r.id, "run": r.run_id, "version": r.version, "status": r.status, "steps": r.steps,
        "pairs": r.n_pairs, "replay": r.n_replay, "task": r.n_task, "skipped": r.n_skipped,
        "last_loss": {k: round(v["last"], 4) for k, v in (r.losses or {}).items() if "last" in v},
        "seconds": r.seconds, "device": r.device, "started_at": r.started_at, "error": r.error})


def adapters_overview(db_url: str, run_id: int | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """Newest published adapters first: run, version, path, checksum prefix, round, time."""
    return _newest_rows(db_url, m.AdapterRow, run_id, limit, lambda a: {
        "run": a.run_id, "version": a.version, "path": a.path, "checksum": a.checksum[:12],
        "round": a.round_id, "published_at": a.published_at})


def episodes_at_last_round(db_url: str, run_id: int) -> int:
    """How many of the run's episodes had finished when its newest round (done or failed) started;
    0 before any round. A resumed run counts `every_episodes` from there, as the first session did."""
    store = open_store(db_url, must_exist=True)
    with store.session(readonly=True) as s:
        started = s.scalar(select(func.max(m.TrainingRoundRow.started_at)).where(m.TrainingRoundRow.run_id == run_id))
        if started is None:
            return 0
        return s.scalar(select(func.count()).select_from(m.EpisodeRow).where(
            m.EpisodeRow.run_id == run_id, m.EpisodeRow.finished_at <= started)) or 0
