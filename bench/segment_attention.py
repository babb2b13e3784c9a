"""A learner round attending by segment (learner/segment_attention.py, the default where the model allows it)
against the dense masks it replaces (HF's SDPA with the padding mask, or the packed pairs' 4-D mask), side by
side in one run, on the organism's dose round (bench/_organism_round.py).

    PYTHONPATH=. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 flock /tmp/agentloop-model.lock \\
        .venv/bin/python bench/segment_attention.py --db sqlite:///agentloop_runs/<folder>/store.db --run RUN \\
        --base agentloop_runs/<folder>/organism/<experiment>-base [--pairs 0,2,6] [--repeats 2]

K = 0 is a round of the task loss only (the off arm's, and every arm's round without pairs); K > 0 adds DPO on
the first K pairs the run stored. Prints the training loop's seconds per side (median over repeats, the sides
alternating), their ratio, and how far apart the two sides' adapters end: in bf16 the two paths round
differently, so they are close, not equal (in fp32 the log-probs and gradients agree to 1e-5,
tests/learner/test_segment_attention.py).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys

import torch

from _organism_round import round_inputs, train_round
from _table import print_table

log = logging.getLogger("bench.segment_attention")
SIDES = ("dense", "segments")


def _round(base: str, examples: list, task: list, config, side: str) -> tuple[float, dict[str, torch.Tensor]]:
    from learner import segment_attention

    supported = segment_attention.supported
    if side == "dense":
        segment_attention.supported = lambda model: False
    try:
        return train_round(base, examples, task, config)
    finally:
        segment_attention.supported = supported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--run", type=int, required=True, help="a run whose stored pairs the rounds train")
    parser.add_argument("--base", required=True, help="the merged warm-start base (<workdir>/organism/<id>-base)")
    parser.add_argument("--pairs", default="0,2,6", help="comma-separated pair counts K (0: task loss only)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    config, task, stored = round_inputs(args.db, args.run, args.base)
    rows: list[tuple[str, str]] = []
    for k in (int(x) for x in args.pairs.split(",")):
        if k > len(stored):
            sys.exit(f"run {args.run} stored {len(stored)} pairs, fewer than {k}")
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        weights = {}
        for _ in range(args.repeats):
            for side in SIDES:
                seconds, weights[side] = _round(args.base, stored[:k], task, config, side)
                times[side].append(seconds)
                log.warning("K=%d %s: %.1f s", k, side, seconds)
        median = {side: statistics.median(t) for side, t in times.items()}
        apart = max(((weights["segments"][n] - w).norm() / w.norm()).item() for n, w in weights["dense"].items()
                    if w.norm() > 0)
        rows += [(f"{k} pairs: s per round, {side}", f"{median[side]:.1f}") for side in SIDES]
        rows += [(f"{k} pairs: dense / segments", f"{median['dense'] / median['segments']:.2f}x"),
                 (f"{k} pairs: adapters apart (max relative norm over LoRA tensors)", f"{apart:.4f}")]
    print_table(rows)


if __name__ == "__main__":
    main()
