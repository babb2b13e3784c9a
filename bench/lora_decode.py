"""LoRA decoding cost on vLLM: policy turns on an adapter vs the base model, per engine LoRA setting.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/lora_decode.py [--tokens 64] [--repeats 2] \\
        [--configs merge,requests:4x16,requests-vllm-ops:4x16] [--dtype auto] [--profile]

Once a round has published an adapter every policy turn decodes through it, so the LoRA/base
ratio multiplies the wall time of every later epoch. Each setting is an engine `lora_mode`:
`merge` (the adapter written into the weights, swapped with the base weights around base calls)
or `requests:LxR` (vLLM's LoRA path with max_loras L and max_lora_rank R, run by the grouped ops of
agentloop.engines.cpu_lora_ops; `requests-vllm-ops:LxR` with vLLM's own ops: it sizes its buffers
and kernels by these, not by the adapter's rank). For each, this starts an engine on the
embedded model, loads one random r=8 adapter on q_proj/v_proj (the learner's default), and
measures greedy tokens/s of the same 8-prompt batch and of one prompt with and without it, in one
run. Every adapter call follows a base call, as a policy turn follows the conscience in a run, so
its time includes the swap to the adapter's weights. `--profile` adds the top ops of one adapter
batch (torch.profiler).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time

from _table import print_table
from agentloop.engines import make_engine
from agentloop.model import prepare_embedded
from agentloop.core.types import Sampling
from engines import PROMPTS, random_adapter

log = logging.getLogger("bench.lora_decode")


def lora_vs_base(engine, prompts, sampling: Sampling, repeats: int) -> tuple[float, float, float]:
    """(base tok/s, adapter tok/s, median of the per-repeat adapter/base ratios), base and adapter
    calls alternating so machine noise hits both alike."""
    def call(adapter: int | None) -> float:
        engine.generate(prompts[:1], Sampling(max_tokens=1), adapter=None if adapter else 1)  # the other weights
        t0 = time.perf_counter()
        out = engine.generate(prompts, sampling, adapter=adapter)
        return sum(g.completion_tokens for g in out) / (time.perf_counter() - t0)

    pairs = [(call(None), call(1)) for _ in range(repeats)]
    return (statistics.median(b for b, _ in pairs), statistics.median(a for _, a in pairs),
            statistics.median(a / b for b, a in pairs))


def swap_seconds(engine, repeats: int) -> float | None:
    """Median seconds of one weight swap (adapter in, then base back) in merge mode."""
    merged = getattr(engine, "merged", None)
    if merged is None:
        return None
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        merged.activate(1)
        merged.activate(None)
        times.append((time.perf_counter() - t0) / 2)
    return statistics.median(times)


def profile(engine, sampling: Sampling, adapter: int) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        engine.generate(PROMPTS, sampling, adapter=adapter)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--configs", default="merge,requests:4x16,requests-vllm-ops:4x16",
                    help="engine settings, comma-separated: merge | requests:MAX_LORASxMAX_LORA_RANK "
                         "(requests-vllm-ops: with vLLM's own CPU LoRA ops)")
    ap.add_argument("--dtype", default="auto", help="auto | bfloat16 | float32")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    path = str(prepare_embedded())
    greedy = Sampling(max_tokens=args.tokens, temperature=0.0)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        adapter_dir = random_adapter(path, f"{tmp}/a")
        for setting in args.configs.split(","):
            mode, _, sizes = setting.partition(":")
            options = dict(lora_mode=mode, dtype=args.dtype)
            if mode == "requests-vllm-ops":  # vLLM's own CPU LoRA ops, not agentloop.engines.cpu_lora_ops
                options.update(lora_mode="requests", grouped_lora_ops=False)
            if sizes:
                options.update(zip(("max_loras", "max_lora_rank"), (int(x) for x in sizes.split("x"))))
            log.info("engine with %s", options)
            engine = make_engine("vllm", path, **options)
            engine.load_adapter(adapter_dir, 1)
            engine.generate(PROMPTS[:1], Sampling(max_tokens=4))  # warm-up, both paths
            engine.generate(PROMPTS[:1], Sampling(max_tokens=4), adapter=1)
            for name, prompts in (("batch-8", PROMPTS), ("single", PROMPTS[:1])):
                base, lora, ratio = lora_vs_base(engine, prompts, greedy, args.repeats)
                rows += [(f"{setting} {name} base tok/s", f"{base:.1f}"), (f"{setting} {name} LoRA tok/s", f"{lora:.1f}"),
                         (f"{setting} {name} LoRA / base (median of paired ratios)", f"{ratio:.2f}x")]
            swap = swap_seconds(engine, args.repeats)
            if swap is not None:
                rows.append((f"{setting} one weight swap (s)", f"{swap:.3f}"))
            if args.profile:
                profile(engine, greedy, 1)
            engine.close()
            del engine
    print_table(rows)


if __name__ == "__main__":
    main()
