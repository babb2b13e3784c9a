"""A round's preference data from the store: new pairs, replay of earlier rounds' pairs, filtering.

New pairs are those no round has trained on yet (`first_round_id IS NULL`); replay is a seeded
sample of pairs that earlier rounds used, about `replay_share` x the new ones (at least one when
any exist), so older lessons keep being rehearsed. Pairs that cannot teach anything are skipped
and counted per reason (see `skip_reason`). Examples come out in TRL's conversational preference
format: `prompt` = chat messages, `chosen`/`rejected` = one assistant message each.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from agentloop.core.types import Conversation
from learner.examples import skip_reason, to_example
from store.learning import Session, mark_pairs_trained, pair_rows


@dataclass
class PairBatch:
    """The pairs of one round, and what was left out."""

    new_ids: list[int] = field(default_factory=list)  # first seen by this round
    replay_ids: list[int] = field(default_factory=list)  # trained before, sampled again
    examples: list[dict[str, Conversation]] = field(default_factory=list)  # new first, then replay
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (new pairs only)
    skipped_ids: list[int] = field(default_factory=list)  # marked as seen too, so later rounds don't recount them

    @property
    def n_new(self) -> int:
        return len(self.new_ids)

    @property
    def n_replay(self) -> int:
        return len(self.replay_ids)

    def to_dataset(self):
        """As a `datasets.Dataset` (columns prompt/chosen/rejected), e.g. for TRL or inspection."""
        from datasets import Dataset

        return Dataset.from_list(self.examples)


def replay_size(n_new: int, n_old: int, share: float) -> int:
    """About share x n_new, at least 1 when earlier pairs exist and share > 0, at most n_old."""
    if n_old == 0 or share <= 0:
        return 0
    return min(n_old, max(1, round(share * n_new)))


def load_pairs(session: Session, run_id: int, replay_share: float, seed: int) -> PairBatch:
    """New (untrained) usable pairs of the run plus a seeded replay sample of earlier rounds' pairs."""
    rows = pair_rows(session, run_id)
    batch = PairBatch()
    skipped: Counter[str] = Counter()
    new, old = [], []
    for row in rows:
        reason = skip_reason(row.chosen, row.rejected)
        if row.first_round_id is not None:
            if reason is None:  # earlier rounds trained on it: a replay candidate
                old.append(row)
        elif reason is not None:
            skipped[reason] += 1
            batch.skipped_ids.append(row.id)
        else:
            new.append(row)
    rng = random.Random(seed)
    replay = sorted(rng.sample(old, replay_size(len(new), len(old), replay_share)), key=lambda r: r.id)
    for row in new + replay:
        batch.examples.append(to_example(row.prompt, row.chosen, row.rejected))
    batch.new_ids = [r.id for r in new]
    batch.replay_ids = [r.id for r in replay]
    batch.skipped = dict(skipped)
    return batch


def mark_trained(session: Session, batch: PairBatch, round_id: int) -> None:
    """Record that `round_id` consumed the batch's new pairs (and looked at its skipped ones), so
    the next round treats them as replay candidates, not as new."""
    mark_pairs_trained(session, batch.new_ids + batch.skipped_ids, round_id)
