"""Random streams keyed by what they are for, so arms of one seed draw the same data.

    rng = stream(config.seed, version, "task_batches")

One RNG drawn by several consumers lets one consumer's draws shift another's: a round that made
4 pairs drew its task batches after 4 pair draws, a round with none drew them first, so two arms
of one seed trained on different task batches (batch order alone moved a held-out hack rate from
24/24 to 3/24, bench/RESULTS.md). Each purpose gets its own stream, keyed by (seed, the run's
round version, purpose), never by a store-wide id: every arm of a seed draws the same task
batches and replay sample in the same order whatever pairs it made.
"""

from __future__ import annotations

import hashlib
import random

PURPOSES = ("task_batches", "pair_batches", "replay")


def stream_seed(seed: int, version: int, purpose: str) -> int:
    """A 64-bit seed for (seed, version, purpose); stable across processes and Python versions."""
    if purpose not in PURPOSES:
        raise ValueError(f"random stream purpose {purpose!r}: use one of {', '.join(PURPOSES)}")
    digest = hashlib.sha256(f"agentloop/{seed}/{version}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stream(seed: int, version: int, purpose: str) -> random.Random:
    return random.Random(stream_seed(seed, version, purpose))
