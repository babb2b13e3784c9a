"""One run's finished episodes of an epoch and split, copied into another run: how an experiment evaluates
epoch 0 once per seed. Every arm of a seed starts from the same base model and answers the same held-out
instances with the same sampling seeds and the same labelling judge, so its epoch-0 rows would be these
rows again (tests/experiment/test_shared_epoch0.py checks that against two arms run apart).

    with store.session() as s:
        copy_episodes(s, source_run=3, target_run=4, epoch=0, split="eval")

The copies are new rows (episodes, turns, findings, verdicts) of the target run, so every query, report
and export of that run reads them as its own; the evaluation row says where they came from.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from store.models import EpisodeRow, FindingRow, PreferencePairRow, TurnRow, VerdictRow


def _columns(row: Any, skip: set[str]) -> dict[str, Any]:
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs if attr.key not in skip}


def copy_episodes(session: Session, *, source_run: int, target_run: int, epoch: int, split: str) -> int:
    """Copy the source run's episodes of (epoch, split), all finished and without preference pairs, with
    their turns, findings and verdicts, into the target run (numbered after its own); how many."""
    episodes = session.scalars(select(EpisodeRow).where(
        EpisodeRow.run_id == source_run, EpisodeRow.epoch == epoch, EpisodeRow.split == split)
        .order_by(EpisodeRow.index)).all()
    if any(ep.status != "done" for ep in episodes):
        raise ValueError(f"run {source_run} epoch {epoch} {split}: unfinished episodes cannot be copied")
    paired = session.scalar(select(func.count(PreferencePairRow.id)).join(TurnRow).join(EpisodeRow).where(
        EpisodeRow.run_id == source_run, EpisodeRow.epoch == epoch, EpisodeRow.split == split))
    if paired:  # a pair trains its run's learner: a copy would train another run on answers it never gave
        raise ValueError(f"run {source_run} epoch {epoch} {split}: episodes with preference pairs cannot be copied")
    last = session.scalar(select(func.max(EpisodeRow.index)).where(EpisodeRow.run_id == target_run))
    start = 0 if last is None else last + 1
    for offset, episode in enumerate(episodes):
        copy = EpisodeRow(**_columns(episode, {"id", "run_id", "index", "claimed_by", "claim_expires_at"}),
                          run_id=target_run, index=start + offset)
        session.add(copy)
        session.flush()
        for turn in episode.turns:
            turn_copy = TurnRow(**_columns(turn, {"id", "episode_id"}), episode_id=copy.id)
            session.add(turn_copy)
            session.flush()
            session.add_all(FindingRow(**_columns(f, {"id", "turn_id"}), turn_id=turn_copy.id) for f in turn.findings)
            if turn.verdict is not None:
                session.add(VerdictRow(**_columns(turn.verdict, {"id", "turn_id"}), turn_id=turn_copy.id))
    session.flush()
    return len(episodes)
