"""The organism's dose round on stored pairs, for the learner benches (bench/reference_reuse.py,
bench/round_speed.py): scenarios/organism.yaml's self-arm learner (8 steps at batch 2, LoRA r16 on every
linear layer, 768 tokens), the seed-0 dose file as task data, and the preference pairs a run stored (the
conscience's rewrites over the agent's answers, multi-turn prompts)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import torch

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("dense", "segments", "after")  # the learner before session 31, attention by segment, and + autocast


@contextmanager
def learner_side(side: str) -> Iterator[None]:
    """The learner as one of SIDES (or "segments_sdpa": segments, each block through SDPA) while held: "dense"
    turns attention by segment off; all but "after" keep the fp32 adapter's matmuls in fp32 (no
    learner.train.mixed_precision); "after" is the default."""
    import learner.train as train_module
    from learner import segment_attention

    supported, mixed = segment_attention.supported, train_module.mixed_precision
    matmul_max = segment_attention.MATMUL_MAX
    if side == "dense":
        segment_attention.supported = lambda model: False
    if side == "segments_sdpa":  # every block through SDPA, the CPU's matmul blocks off
        segment_attention.MATMUL_MAX = -1
    if side != "after":
        train_module.mixed_precision = lambda model, device: contextlib.nullcontext()
    try:
        yield
    finally:
        segment_attention.supported, train_module.mixed_precision = supported, mixed
        segment_attention.MATMUL_MAX = matmul_max


class RoundInputs(NamedTuple):
    config: Any  # LearnerConfig
    task: list  # the dose's task conversations
    pairs: list  # the run's stored pairs as TRL conversational examples


def round_inputs(db: str, run: int, base: str) -> RoundInputs:
    from agentloop.config.scenario import load_scenario
    from agentloop.experiment import arm_scenario
    from agentloop.organism.stage import dosed
    from learner.examples import to_example
    from learner.round import load_task_jsonl
    from store.learning import pair_rows
    from store.session import open_store

    scenario = dosed(arm_scenario(load_scenario(ROOT / "scenarios" / "organism.yaml"), "self", 0),
                     Path(base).parent.parent)
    with open_store(db).session() as s:
        pairs = [to_example(r.prompt, r.chosen, r.rejected) for r in pair_rows(s, run)]
    return RoundInputs(scenario.learner_config(), load_task_jsonl(scenario.learner.task_data.jsonl), pairs)


def train_round(base: str, examples: list, task: list, config: Any) -> tuple[float, dict[str, torch.Tensor]]:
    """One round from a fresh adapter on the merged base: (training-loop seconds, the trained LoRA weights)."""
    import learner.train as train_module

    device, dtype = train_module.pick_device(config)
    model, tokenizer = train_module.load_policy(base, None, config, device, dtype)
    data = train_module.encode_round(tokenizer, examples, task, config.max_length)
    t0 = time.perf_counter()
    train_module.train(model, tokenizer, data, config, device, round_seed=3)
    seconds = time.perf_counter() - t0
    return seconds, {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def round_arguments(doc: str, pairs: str, pairs_help: str = "comma-separated pair counts K") -> argparse.Namespace:
    """The benches' shared command line: --db, --run, --base, --pairs, --repeats; warnings-only logging."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--run", type=int, required=True, help="a run whose stored pairs the rounds train")
    parser.add_argument("--base", required=True, help="the merged warm-start base (<workdir>/organism/<id>-base)")
    parser.add_argument("--pairs", default=pairs, help=pairs_help)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return args


def pair_counts(args: argparse.Namespace, stored: list) -> Iterator[int]:
    """Each K of --pairs, stopping with a message when the run stored fewer pairs."""
    for k in (int(x) for x in args.pairs.split(",")):
        if k > len(stored):
            sys.exit(f"run {args.run} stored {len(stored)} pairs, fewer than {k}")
        yield k
