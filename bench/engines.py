"""Engine benchmark: vLLM vs HF throughput, conscience overhead, hot-swap vs restart.

    flock /tmp/agentloop-model.lock .venv/bin/python bench/engines.py [--tokens 64] [--repeats 2]

Everything is measured in this one run (the machine is noisy), and printed as ratios:
- tokens/s of vLLM vs HF on the same 8-prompt batch (greedy, fp32 on CPU);
- conscience overhead: (policy turn + verdict + rewrites at an unethical rate) / policy-only turn;
- LoRA hot-swap time vs a full engine restart.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

from _table import print_table
from agentloop.engines import make_engine
from agentloop.model import prepare_embedded
from agentloop.core.types import Sampling

TASKS = [
    "Write a Python function is_prime(n).", "Write a function that reverses a linked list.",
    "Write fizzbuzz(n) returning a list of strings.", "Write a function that parses 'k=v;k2=v2' into a dict.",
    "Write a function that checks whether a string is a palindrome.", "Write binary_search(xs, x).",
    "Write a function that merges two sorted lists.", "Write a function that counts words in a text.",
]
PROMPTS = [[{"role": "user", "content": t}] for t in TASKS]


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def random_adapter(model_path: str, out: str) -> str:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))
    model.save_pretrained(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--unethical-rate", type=float, default=0.25,
                    help="share of turns that get a rewrite (the embedded self-judge flags ~0%%; 0.25 is a harsher judge)")
    args = ap.parse_args()
    path = str(prepare_embedded())
    greedy = Sampling(max_tokens=args.tokens, temperature=0.0)

    t0 = time.perf_counter()
    vllm = make_engine("vllm", path)
    vllm_start = time.perf_counter() - t0
    vllm.generate(PROMPTS[:1], Sampling(max_tokens=4))  # warm-up
    v_s, v_out = timed(lambda: vllm.generate(PROMPTS, greedy), args.repeats)
    v_tok = sum(g.completion_tokens for g in v_out)
    one_s, one_out = timed(lambda: vllm.generate(PROMPTS[:1], greedy), args.repeats)
    one_tok = one_out[0].completion_tokens

    # Conscience overhead: policy-only turn vs policy + verdicts + rewrites for a share of turns.
    from conscience.judge import make_judge

    judge = make_judge("self", vllm, "three_laws", rewrite_sampling=Sampling(max_tokens=args.tokens, temperature=0.0))
    from conscience.prompts import ReviewItem

    def turn_with_conscience():
        gens = vllm.generate(PROMPTS, greedy)
        items = [ReviewItem(question=t, reasoning="", answer=g.text) for t, g in zip(TASKS, gens)]
        verdicts = judge.review(items)
        # Force the rewrite share: the embedded self-judge alone flags almost nothing.
        n = round(args.unethical_rate * len(items))
        judge._add_rewrites(items, [replace(v, label="unethical") if i < n else v for i, v in enumerate(verdicts)])

    c_s, _ = timed(turn_with_conscience, args.repeats)
    score_s, _ = timed(lambda: judge.review([ReviewItem(question=t, reasoning="", answer="x") for t in TASKS]),
                       args.repeats)

    with tempfile.TemporaryDirectory() as tmp:
        adapter = random_adapter(path, f"{tmp}/a")
        t0 = time.perf_counter()
        vllm.load_adapter(adapter, 1)
        vllm.generate(PROMPTS[:1], Sampling(max_tokens=1), adapter=1)
        swap_s = time.perf_counter() - t0
    vllm.close()
    del vllm

    hf = make_engine("hf", path)
    hf.generate(PROMPTS[:1], Sampling(max_tokens=4))
    h_s, h_out = timed(lambda: hf.generate(PROMPTS, greedy), args.repeats)
    h_tok = sum(g.completion_tokens for g in h_out)

    rows = [
        ("vLLM batched-8 tok/s", f"{v_tok / v_s:.1f}"),
        ("HF batched-8 tok/s", f"{h_tok / h_s:.1f}"),
        ("vLLM / HF throughput", f"{(v_tok / v_s) / (h_tok / h_s):.2f}x"),
        ("vLLM single-prompt tok/s", f"{one_tok / one_s:.1f}"),
        ("vLLM batched-8 / single", f"{(v_tok / v_s) / (one_tok / one_s):.2f}x"),
        ("verdicts for 8 turns (s)", f"{score_s:.2f}"),
        (f"conscience overhead (verdicts + {args.unethical_rate:.0%} rewrites) / policy-only turn",
         f"{c_s / v_s:.2f}x"),
        ("LoRA hot-swap + first token (s)", f"{swap_s:.3f}"),
        ("vLLM engine start (s)", f"{vllm_start:.1f}"),
        ("restart / hot-swap", f"{vllm_start / swap_s:.0f}x"),
    ]
    print_table(rows)


if __name__ == "__main__":
    main()
