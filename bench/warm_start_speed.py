"""The organism's warm-start round (scenarios/organism.yaml's organism.warm_start: SFT rows of up to 1024 tokens
at batch 4) on the three learner sides of bench/_organism_round.py: dense (before session 31), segments
(attention by segment), after (segments + the adapter's matmuls in bf16 under autocast, the default).

    PYTHONPATH=. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 flock /tmp/agentloop-model.lock \\
        .venv/bin/python bench/warm_start_speed.py [--steps 6] [--sides dense,segments,after]

Each side trains the first --steps steps of the warm start from a fresh adapter on the embedded model (the same
batches: the round's seed draws them); prints seconds per step and the ratio to dense.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _organism_round import ROOT, learner_side
from _table import print_table

log = logging.getLogger("bench.warm_start_speed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--sides", default="dense,segments,after")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import learner.train as train_module
    from agentloop.config.scenario import load_scenario
    from agentloop.model import resolve_model
    from agentloop.organism.stage import warm_start_jsonl, warm_start_trainer
    from learner.round import load_task_jsonl

    scenario = load_scenario(ROOT / "scenarios" / "organism.yaml")
    model_path = resolve_model(scenario.model.name)
    with tempfile.TemporaryDirectory() as tmp:
        data = warm_start_jsonl(scenario, Path(tmp) / "warm_start.jsonl")
        config = replace(warm_start_trainer(scenario, data).learner_config(), steps=args.steps)
        task = load_task_jsonl(str(data))
    rows: list[tuple[str, str]] = []
    per_step: dict[str, float] = {}
    for side in args.sides.split(","):
        with learner_side(side):
            device, dtype = train_module.pick_device(config)
            model, tokenizer = train_module.load_policy(model_path, None, config, device, dtype)
            encoded = train_module.encode_round(tokenizer, [], task, config.max_length)
            t0 = time.perf_counter()
            train_module.train(model, tokenizer, encoded, config, device, round_seed=1)
            per_step[side] = (time.perf_counter() - t0) / args.steps
        log.warning("%s: %.2f s per step", side, per_step[side])
        rows.append((f"{side}: s per step ({args.steps} steps, batch {config.batch_size}, {dtype})",
                     f"{per_step[side]:.2f}"))
    if "dense" in per_step:
        rows += [(f"dense / {side}", f"{per_step['dense'] / s:.2f}x") for side, s in per_step.items() if side != "dense"]
    print_table(rows)


if __name__ == "__main__":
    main()
