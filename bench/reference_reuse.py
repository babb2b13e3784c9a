"""A learner round with preference pairs, the frozen copy's log-probs of a recurring pair batch reused (the
default since session 29) against a new reference pass every step, and against `reference_once` (one pass per
round in batches of 8, the organism's setting), side by side in one run.

    PYTHONPATH=. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 flock /tmp/agentloop-model.lock \\
        .venv/bin/python bench/reference_reuse.py --db sqlite:///agentloop_runs/<folder>/store.db --run RUN \\
        --base agentloop_runs/<folder>/organism/<experiment>-base [--pairs 2,4,8] [--repeats 2]

A round of the organism's dose (scenarios/organism.yaml: 8 steps at batch 2, LoRA r16 on every linear layer,
768 tokens) on the merged warm-start base, a fresh adapter, the seed-0 dose file as task data, and the first K
preference pairs the run stored (the conscience's rewrites over the agent's answers, multi-turn prompts). Few
pairs cycle through the round's 16 pair slots, so their batches recur: with K pairs at batch 2 and length
buckets, at most K/2 distinct batches per pass over the pairs. Prints the seconds of the training loop per
side (median over repeats, the sides alternating), the ratios, how many reference passes each made, and whether
the adapters of `step` and `reused` are equal bit for bit (they must be: the same batches give the same
log-probs; `once` computes them in other batch shapes, so in bf16 its adapter differs slightly).
"""

from __future__ import annotations

import functools
import logging
import statistics
from dataclasses import replace

import torch

from _organism_round import pair_counts, round_arguments, round_inputs, train_round
from _table import print_table

log = logging.getLogger("bench.reference_reuse")


SIDES = {"step": (False, False), "reused": (False, True), "once": (True, False)}  # (reference_once, cache)


def _round(base: str, examples, task, config, side: str) -> tuple[float, int, dict[str, torch.Tensor]]:
    """One round from a fresh adapter: (training-loop seconds, reference passes, the trained LoRA weights)."""
    import learner.train as train_module

    once, cache = SIDES[side]
    passes = []
    reference = train_module.reference_logps

    def counting(*args, **kwargs):
        passes.append(1)
        return reference(*args, **kwargs)

    original = train_module._step_losses
    train_module.reference_logps = counting
    train_module._step_losses = functools.partial(original, cache_reference=cache)
    try:
        seconds, weights = train_round(base, examples, task, replace(config, reference_once=once))
    finally:
        train_module.reference_logps, train_module._step_losses = reference, original
    return seconds, len(passes), weights


def main() -> None:
    args = round_arguments(__doc__, "2,4,8")
    config, task, stored = round_inputs(args.db, args.run, args.base)
    rows: list[tuple[str, str]] = []
    for k in pair_counts(args, stored):
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        passes, weights = {}, {}
        for _ in range(args.repeats):
            for side in SIDES:
                seconds, passes[side], weights[side] = _round(args.base, stored[:k], task, config, side)
                times[side].append(seconds)
                log.warning("K=%d %s: %.1f s, %d reference passes", k, side, seconds, passes[side])
        equal = weights["step"].keys() == weights["reused"].keys() and all(
            torch.equal(weights["step"][n], weights["reused"][n]) for n in weights["step"])
        median = {side: statistics.median(t) for side, t in times.items()}
        rows += [(f"{k} pairs: s per round, {side} (reference passes)", f"{median[side]:.1f} ({passes[side]})")
                 for side in SIDES]
        rows += [(f"{k} pairs: step / reused", f"{median['step'] / median['reused']:.2f}x"),
                 (f"{k} pairs: step / once", f"{median['step'] / median['once']:.2f}x"),
                 (f"{k} pairs: adapters of step and reused equal bit for bit", str(equal))]
    print_table(rows)


if __name__ == "__main__":
    main()
