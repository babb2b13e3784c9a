"""The learner round before and after session 31's speed work, side by side in one run, on the organism's dose
round (bench/_organism_round.py):

- dense: HF's SDPA through dense masks (the padding mask, or the packed pairs' 4-D mask), the fp32 adapter's
  matmuls in fp32 (PEFT's default): the round until session 31;
- segments: attention by segment (learner/segment_attention.py), the adapter still in fp32;
- after: segments, and the adapter's matmuls in bf16 under autocast (learner.train.mixed_precision): the default.

    PYTHONPATH=. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 flock /tmp/agentloop-model.lock \\
        .venv/bin/python bench/round_speed.py --db sqlite:///agentloop_runs/<folder>/store.db --run RUN \\
        --base agentloop_runs/<folder>/organism/<experiment>-base [--pairs 0,2,6] [--repeats 2]

K = 0 is a round of the task loss only (the off arm's, and every arm's round without pairs); K > 0 adds DPO on
the first K pairs the run stored. Prints the training loop's seconds per side (median over repeats, the sides
alternating), the ratios to dense, and how far apart the sides' adapters end from dense's: in bf16 the paths
round differently, and Adam's first steps from a fresh adapter turn small gradient differences into whole
steps, so they are close, not equal (in fp32 segments and dense agree to 1e-5 in log-probs and gradients,
tests/learner/test_segment_attention.py).
"""

from __future__ import annotations

import logging
import statistics

import torch

from _organism_round import SIDES, learner_side, pair_counts, round_arguments, round_inputs, train_round
from _table import print_table

log = logging.getLogger("bench.round_speed")


def _round(base: str, examples: list, task: list, config, side: str) -> tuple[float, dict[str, torch.Tensor]]:
    with learner_side(side):
        return train_round(base, examples, task, config)


def main() -> None:
    args = round_arguments(__doc__, "0,2,6", "comma-separated pair counts K (0: task loss only)")
    config, task, stored = round_inputs(args.db, args.run, args.base)
    rows: list[tuple[str, str]] = []
    for k in pair_counts(args, stored):
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        weights = {}
        for _ in range(args.repeats):
            for side in SIDES:
                seconds, weights[side] = _round(args.base, stored[:k], task, config, side)
                times[side].append(seconds)
                log.warning("K=%d %s: %.1f s", k, side, seconds)
        median = {side: statistics.median(t) for side, t in times.items()}
        rows += [(f"{k} pairs: s per round, {side}", f"{median[side]:.1f}") for side in SIDES]
        for side in SIDES[1:]:
            apart = max(((weights[side][n] - w).norm() / w.norm()).item() for n, w in weights["dense"].items()
                        if w.norm() > 0)
            rows += [(f"{k} pairs: dense / {side}", f"{median['dense'] / median[side]:.2f}x"),
                     (f"{k} pairs: {side}'s adapter apart from dense's (max relative norm of a LoRA tensor)",
                      f"{apart:.4f}")]
    print_table(rows)


if __name__ == "__main__":
    main()
