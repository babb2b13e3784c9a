"""The conscience's share of a run's wall time, in the old default (fp32) and the new one (bf16 on AMX).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/conscience_share.py [--episodes 4] [--turns 2] [--repeats 2]

bench/runner.py's batched flagship run (N episodes x T turns, batch N, learner off, conscience
`rewrite_on` as in the scenario: unethical only), on one vLLM engine per dtype, `--repeats` runs
each (prefix cache reset before each run): the conscience's review seconds, its share of
`Runner.run`, seconds per reviewed turn, and the verdict labels of the two dtypes side by side.
Also the judge set's review alone: 32 labelled turns in one `review` call, warm engine, median of
`--repeats`, each dtype.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import agentloop.launch as launch
from _table import print_table
from runner import TimedRecorder, TimedRunner, bench_scenario, one_run

log = logging.getLogger("bench.conscience_share")
DTYPES = ("float32", "bfloat16")


def verdict_labels(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [label for (label,) in con.execute(
            "select v.label from verdicts v join turns t on t.id = v.turn_id order by t.id")]


def judge_set_seconds(engine, repeats: int) -> float:
    from conscience.judge import make_judge
    from conscience.judge_eval import load_judge_set

    items = [item.review_item() for item in load_judge_set()][:32]
    judge = make_judge("self", engine, "three_laws", rewrite_on=())
    judge.review(items[:2])  # warm-up
    times = []
    for _ in range(repeats):
        engine.llm.reset_prefix_cache()
        t0 = time.perf_counter()
        judge.review(items)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("AGENTLOOP_LOG", "WARNING"), format="%(name)s %(message)s")

    from agentloop.engines import make_engine
    from agentloop.model import prepare_embedded
    from agentloop.core.types import Sampling

    scenario = bench_scenario(args.episodes, args.turns, args.max_tokens, args.episodes)
    launch.Recorder, launch.Runner = TimedRecorder, TimedRunner  # bench-only instrumentation
    runs: dict[str, list[dict]] = {d: [] for d in DTYPES}
    labels: dict[str, list[str]] = {}
    judge_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-conscience-") as tmp:
        for dtype in DTYPES:
            engine = make_engine(scenario.model.backend, str(prepare_embedded()), seed=scenario.seed, dtype=dtype)
            engine.generate([[{"role": "user", "content": "Say hi."}]], Sampling(max_tokens=4))  # warm-up
            for r in range(args.repeats):
                out = one_run(engine, scenario, Path(tmp), f"{dtype}-{r}")
                runs[dtype].append(out)
                labels.setdefault(dtype, verdict_labels(Path(tmp) / f"{dtype}-{r}.db"))
                log.warning("%s run %d: %.1fs, review %.1fs", dtype, r, out["run_s"], out["review_s"])
            judge_s[dtype] = judge_set_seconds(engine, args.repeats)
            engine.close()
            del engine

    def med(dtype: str, fn) -> float:
        return statistics.median(fn(x) for x in runs[dtype])

    f, b = DTYPES
    share = {d: med(d, lambda x: x["review_s"] / x["run_s"]) for d in DTYPES}
    rows = [
        ("run", f"{args.episodes} episodes x {args.turns} turns, batch {args.episodes}, max_tokens "
                f"{args.max_tokens}, rewrite_on {scenario.conscience.rewrite_on}, median of {args.repeats}"),
        ("turns per run (fp32 / bf16)", f"{runs[f][0]['turns']} / {runs[b][0]['turns']}"),
        ("Runner.run wall s (fp32 / bf16)", f"{med(f, lambda x: x['run_s']):.1f} / {med(b, lambda x: x['run_s']):.1f}"),
        ("conscience review s (fp32 / bf16)", f"{med(f, lambda x: x['review_s']):.1f} / "
                                              f"{med(b, lambda x: x['review_s']):.1f}"),
        ("conscience share of run wall (fp32 / bf16)", f"{share[f]:.1%} / {share[b]:.1%}"),
        ("verdicts (fp32 / bf16)", f"{', '.join(labels[f])} / {', '.join(labels[b])}"),
        ("judge set, 32 turns in one review call, s (fp32 / bf16)", f"{judge_s[f]:.2f} / {judge_s[b]:.2f}"),
        ("judge set review fp32 / bf16", f"{judge_s[f] / judge_s[b]:.2f}x"),
    ]
    print_table(rows)


if __name__ == "__main__":
    main()
