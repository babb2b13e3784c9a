"""Cells together: several runs' policy turns (an experiment's arms x seeds) in one `generate`
call vs one run after another, per engine LoRA setting (issue 19, goal 4).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/cells_together.py \\
        [--cells 4] [--per-cell 8] [--tokens 128] [--repeats 2] [--dtype auto]

Each cell is a run with its own adapter (a random r16 LoRA on all 7 linear modules, the
organism's shape) and its own held-out prompts (scenarios/organism.yaml, the cell's seed). What
an experiment could gain by stepping its cells' episodes through one engine is the turns/hour of
one call serving every cell against the cells one after another, each at its own batch:

- merge, one after another: the default (`lora_mode: merge`), one call per cell, weights swapped
  to the cell's adapter before it (what `agentloop experiment` does today);
- requests, one after another / together: vLLM's LoRA path (`lora_mode: requests`), where one call
  can carry one adapter per prompt;
- base, one after another / together: epoch 0, where every cell decodes the base weights.

Identical answers: each prompt carries its own seed, so a cell's answers must not depend on the
other cells in the batch; the bench prints the share of answers equal between together and one
after another (greedy here, as the organism runs).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from _table import print_table
from agentloop.engines import make_engine
from agentloop.model import prepare_embedded
from agentloop.core.types import Conversation, Sampling

log = logging.getLogger("bench.cells_together")
ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def cell_prompts(seed: int, n: int) -> list[Conversation]:
    """The first `n` held-out first-turn prompts of scenarios/organism.yaml at `seed`."""
    from agentloop.core.prompts import system_message, task_message
    from agentloop.config.scenario import load_scenario
    from agentloop.tasks import select_tasks

    scenario = load_scenario(ROOT / "scenarios" / "organism.yaml")
    tasks = select_tasks(scenario.tasks, seed=seed, split="eval")
    tasks = (tasks * (n // len(tasks) + 1))[:n]
    return [[{"role": "system", "content": system_message(t)}, {"role": "user", "content": task_message(t)}]
            for t in tasks]


def random_adapters(model_path: str, out: Path, n: int) -> list[str]:
    """`n` PEFT folders: r16 on all linear modules, B small and random (each cell answers a little
    differently from base and from the others, as trained cells do)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS))
    paths = []
    for k in range(n):
        torch.manual_seed(k)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0.0, 2e-3)
        model.save_pretrained(str(out / f"cell{k}"))
        paths.append(str(out / f"cell{k}"))
    return paths


def timed(call) -> tuple[float, list]:
    t0 = time.perf_counter()
    out = call()
    return time.perf_counter() - t0, out


def one_after_another(engine, cells: list[list[Conversation]], samplings: list[list[Sampling]],
                      adapters: list[int | None]) -> tuple[float, list]:
    def call() -> list:
        return [g for k, prompts in enumerate(cells)
                for g in engine.generate(prompts, samplings[k], adapter=adapters[k])]
    return timed(call)


def together(engine, cells: list[list[Conversation]], samplings: list[list[Sampling]],
             adapters: list[int | None]) -> tuple[float, list]:
    prompts = [p for c in cells for p in c]
    per_prompt = [a for k, c in enumerate(cells) for a in [adapters[k]] * len(c)]
    return timed(lambda: engine.generate(prompts, [s for ss in samplings for s in ss], adapter=per_prompt))


def measure(engine, name: str, cells, samplings, adapters, repeats: int, rows: list,
            both: bool = True) -> tuple[float, float | None]:
    """Turns/hour of the cells one after another (and together when `both`), calls alternating
    so machine noise hits both alike; appends the table rows."""
    turns = sum(len(c) for c in cells)
    seq_s, tog_s, equal, tokens = [], [], 0.0, 0
    for _ in range(repeats):
        s, seq = one_after_another(engine, cells, samplings, adapters)
        seq_s.append(s)
        tokens = sum(g.completion_tokens for g in seq)
        if both:
            t, tog = together(engine, cells, samplings, adapters)
            tog_s.append(t)
            equal = sum(a.text == b.text for a, b in zip(seq, tog)) / turns
    per_hour = turns * 3600 / statistics.median(seq_s)
    rows.append((f"{name}, one after another: turns/h ({tokens} tokens)", f"{per_hour:.0f}"))
    if both:
        tog_per_hour = turns * 3600 / statistics.median(tog_s)
        rows += [(f"{name}, together: turns/h", f"{tog_per_hour:.0f}"),
                 (f"{name}, together / one after another (median of paired ratios)",
                  f"{statistics.median(a / b for a, b in zip(seq_s, tog_s)):.2f}x"),
                 (f"{name}, answers equal together vs one after another", f"{equal:.0%} of {turns}")]
    return per_hour, (tog_per_hour if both else None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=4, help="runs stepped together (arms x seeds)")
    ap.add_argument("--per-cell", type=int, default=8, help="each cell's batch (the organism's held-out wave is 24)")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--dtype", default="auto", help="auto | bfloat16 | float32")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    path = str(prepare_embedded())
    cells = [cell_prompts(k, args.per_cell) for k in range(args.cells)]
    samplings = [[Sampling(max_tokens=args.tokens, temperature=0.0, seed=k * 1000 + i) for i in range(len(c))]
                 for k, c in enumerate(cells)]
    versions = list(range(1, args.cells + 1))
    rows: list[tuple[str, str]] = [("cells x turns per cell, max tokens",
                                    f"{args.cells} x {args.per_cell}, {args.tokens}")]
    with tempfile.TemporaryDirectory() as tmp:
        folders = random_adapters(path, Path(tmp), args.cells)
        results = {}
        for mode in ("merge", "requests"):
            options = dict(lora_mode=mode, dtype=args.dtype)
            if mode == "requests":
                options.update(max_loras=args.cells, max_lora_rank=16)
            engine = make_engine("vllm", path, **options)
            for v, folder in zip(versions, folders):
                engine.load_adapter(folder, v)
            engine.generate(cells[0][:1], Sampling(max_tokens=4))  # warm-up, both paths
            engine.generate(cells[0][:1], Sampling(max_tokens=4), adapter=1)
            if mode == "merge":
                results["base"] = measure(engine, "base (epoch 0)", cells, samplings, [None] * args.cells,
                                          args.repeats, rows)
                results["merge"] = measure(engine, "merge", cells, samplings, versions, args.repeats, rows,
                                           both=False)
            else:
                results["requests"] = measure(engine, "requests", cells, samplings, versions, args.repeats, rows)
            engine.close()
            del engine
        best_seq = results["merge"][0]
        rows.append(("requests together / merge one after another (turns/h)",
                     f"{results['requests'][1] / best_seq:.2f}x"))
    print_table(rows)


if __name__ == "__main__":
    main()
