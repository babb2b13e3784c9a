"""vLLM's CPU KV cache size (`VLLM_CPU_KVCACHE_SPACE`, GiB) against the organism's widest wave: the last epoch's
held-out episodes and the outside benchmark's in one policy call (`agentloop experiment --overlap`).

    PYTHONPATH=. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 flock /tmp/agentloop-model.lock \\
        .venv/bin/python bench/kv_cache_space.py --db sqlite:///agentloop_runs/<folder>/store.db --run RUN \\
        --base agentloop_runs/<folder>/organism/<experiment>-base [--spaces 1,4] [--repeats 2]

The first turns of RUN's last-epoch episodes (held-out and benchmark splits: 64 in the organism), each with the
agent's system prompt, decoded greedily to the organism's 320 tokens on the merged base, in one `generate`. A
KV cache too small for every sequence of the wave makes vLLM run part of it and queue the rest, so the wave
takes more decode steps. One engine per process: each size runs in its own child process, the sizes
alternating over --repeats. Prints tokens/s per size (median) and the ratio to the first size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _table import print_table


def _prompts(db: str, run: int) -> list[list[dict]]:
    from agentloop.core.prompts import SYSTEM_PROMPT
    from store.session import open_store
    from sqlalchemy import text

    with open_store(db).session() as s:
        last = s.execute(text("select max(epoch) from episodes where run_id = :r"), {"r": run}).scalar_one()
        rows = s.execute(text("select t.prompt from turns t join episodes e on e.id = t.episode_id where e.run_id = :r"
                              " and e.epoch = :e and t.[index] = 0 order by e.id"), {"r": run, "e": last}).all()
    system = SYSTEM_PROMPT.format(solution_file="solution.py")
    return [[{"role": "system", "content": system}, {"role": "user", "content": p}] for (p,) in rows]


def _child(db: str, run: int, base: str) -> None:
    """In a process whose environment holds the size: one engine, one wave; prints JSON."""
    from agentloop.core.types import Sampling
    from agentloop.engines import make_engine

    prompts = _prompts(db, run)
    engine = make_engine("vllm", base)
    t0 = time.perf_counter()
    out = engine.generate(prompts, Sampling(max_tokens=320, temperature=0.0))
    seconds = time.perf_counter() - t0
    print(json.dumps({"n": len(prompts), "tokens": sum(g.completion_tokens for g in out), "seconds": seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--run", type=int, required=True, help="a cell whose last epoch has held-out and benchmark")
    parser.add_argument("--base", required=True, help="the merged warm-start base (<workdir>/organism/<id>-base)")
    parser.add_argument("--spaces", default="1,4", help="comma-separated VLLM_CPU_KVCACHE_SPACE values (GiB)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.db, args.run, args.base)
    spaces = args.spaces.split(",")
    results: dict[str, list[dict]] = {space: [] for space in spaces}
    for _ in range(args.repeats):
        for space in spaces:
            env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": space}
            done = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child"], env=env, check=True,
                                  capture_output=True, text=True)
            results[space].append(json.loads(done.stdout.strip().splitlines()[-1]))
    rate = {space: statistics.median(r["tokens"] / r["seconds"] for r in rs) for space, rs in results.items()}
    rows = [("wave (prompts)", str(results[spaces[0]][0]["n"]))]
    for space in spaces:
        rows += [(f"{space} GiB: tokens / s (median; tokens {results[space][0]['tokens']})", f"{rate[space]:.1f}")]
        rows += [(f"{space} GiB / {spaces[0]} GiB", f"{rate[space] / rate[spaces[0]]:.2f}x")]
    print_table(rows)


if __name__ == "__main__":
    main()
