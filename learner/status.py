"""What `agentloop learner status` shows: the last rounds and published adapters, from the store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from store import models as m
from store.session import open_store


def rounds_overview(db_url: str, run_id: int | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """Newest rounds first: status, version, data counts, last loss per component, seconds."""
    store = open_store(db_url, must_exist=True)
    query = select(m.TrainingRoundRow).order_by(m.TrainingRoundRow.id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(m.TrainingRoundRow.run_id == run_id)
    with store.session(readonly=True) as s:
        return [{"round": r.id, "run": r.run_id, "version": r.version, "status": r.status, "steps": r.steps,
                 "pairs": r.n_pairs, "replay": r.n_replay, "task": r.n_task, "skipped": r.n_skipped,
                 "last_loss": {k: round(v["last"], 4) for k, v in (r.losses or {}).items() if "last" in v},
                 "seconds": r.seconds, "device": r.device, "started_at": r.started_at, "error": r.error}
                for r in s.scalars(query)]


def adapters_overview(db_url: str, run_id: int | None = None, limit: int = 5) -> list[dict[str, Any]]:
    store = open_store(db_url, must_exist=True)
    query = select(m.AdapterRow).order_by(m.AdapterRow.id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(m.AdapterRow.run_id == run_id)
    with store.session(readonly=True) as s:
        return [{"run": a.run_id, "version": a.version, "path": a.path, "checksum": a.checksum[:12],
                 "round": a.round_id, "published_at": a.published_at} for a in s.scalars(query)]


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
