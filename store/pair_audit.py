"""The preference pairs of runs' training episodes with their rewrite audits: what the report's rewrite audit
table counts (agentloop.report_audit), read in one query.

    with store.session(readonly=True) as s:
        pairs = train_pairs(s, [7, 8])       # one TrainPair per pair of a train episode, oldest first
        epochs = train_epochs(s, [7, 8])     # the epochs with train episodes (rows even where no pair was made)

A pair belongs to the epoch of the episode whose turn made it, as `n_pairs` of store.evaluation counts it;
pairs of eval episodes are never trained (store.learning.pair_rows) and are left out here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import EpisodeRow, PreferencePairRow, TurnRow

__all__ = ["TrainPair", "train_epochs", "train_pairs"]


@dataclass(frozen=True)
class TrainPair:
    """One pair of a train episode: its texts (the learner's skip rule reads them), whether a round has
    seen it (`first_round_id` set; skipped pairs are marked too) and its audit (None before the audit existed)."""

    run_id: int
    epoch: int
    chosen: str
    rejected: str
    seen_by_round: bool
    audit: dict[str, Any] | None


def train_pairs(session: Session, run_ids: Sequence[int]) -> list[TrainPair]:
    """The runs' pairs made on train episodes, oldest first."""
    pair = PreferencePairRow
    rows = session.execute(
        select(EpisodeRow.run_id, EpisodeRow.epoch, pair.chosen, pair.rejected, pair.first_round_id, pair.audit)
        .join(TurnRow, TurnRow.id == pair.turn_id).join(EpisodeRow)
        .where(EpisodeRow.run_id.in_(list(run_ids)), EpisodeRow.split == "train").order_by(pair.id))
    return [TrainPair(run_id=r.run_id, epoch=r.epoch, chosen=r.chosen, rejected=r.rejected,
                      seen_by_round=r.first_round_id is not None, audit=r.audit) for r in rows]


def train_epochs(session: Session, run_ids: Sequence[int]) -> list[int]:
    """The epochs in which any of the runs has train episodes, ascending."""
    return sorted(session.scalars(select(EpisodeRow.epoch).distinct().where(
        EpisodeRow.run_id.in_(list(run_ids)), EpisodeRow.split == "train")))
