"""The round's batch order: every example equally often, and length buckets that cut padding."""

from __future__ import annotations

import random
from collections import Counter

from learner.train import _cycle_batches


def test_every_example_equally_often_with_and_without_buckets():
    lengths = [random.Random(i).randint(50, 500) for i in range(10)]
    for buckets in (None, lengths):
        batches = _cycle_batches(10, 2, 15, random.Random(0), buckets)  # 3 epochs
        assert len(batches) == 15 and all(len(b) == 2 for b in batches)
        assert set(Counter(i for b in batches for i in b).values()) == {3}


def test_buckets_pair_similar_lengths_in_random_order():
    lengths = [random.Random(i).randint(50, 500) for i in range(16)]
    padding = {}
    for name, buckets in (("plain", None), ("buckets", lengths)):
        batches = _cycle_batches(16, 4, 40, random.Random(1), buckets)
        padding[name] = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    assert padding["buckets"] < 0.5 * padding["plain"], padding
    epoch = _cycle_batches(16, 4, 4, random.Random(1), lengths)
    assert [max(lengths[i] for i in b) for b in epoch] != sorted(max(lengths[i] for i in b) for b in epoch)
