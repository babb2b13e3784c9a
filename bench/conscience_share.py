"""The conscience's share of a run's wall time, with and without warming the prefix cache.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/conscience_share.py [--episodes 4] [--turns 2] [--repeats 2]

A verdict scores each label token as a 1-token request over the judge prompt (a few hundred
tokens). vLLM's prefix cache only serves blocks already computed when a request is scheduled, so
the requests of one batch each prefill the whole prompt. `EngineConfig.score_warmup` (default on)
sends one request per prompt first and the rest after, so those reuse the cached blocks. This runs
bench/runner.py's batched flagship run (N episodes x T turns, learner off, `rewrite_on` as in the
scenario: unethical only) on one vLLM engine in the default dtype, alternately with the warm-up on
and off (prefix cache reset before each run), and prints the conscience's share of `Runner.run`
and its seconds per review, plus whether both settings gave the same verdicts.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import statistics
import tempfile
from pathlib import Path

import agentloop.launch as launch
from _table import print_table
from runner import TimedRecorder, TimedRunner, bench_scenario, one_run

log = logging.getLogger("bench.conscience")


def verdicts(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("select t.id, v.label from verdicts v join turns t on t.id = v.turn_id order by 1").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2, help="on/off pairs, order alternating")
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("AGENTLOOP_LOG", "WARNING"), format="%(name)s %(message)s")

    from agentloop.engines import make_engine
    from agentloop.model import prepare_embedded
    from agentloop.types import Sampling

    scenario = bench_scenario(args.episodes, args.turns, args.max_tokens, args.episodes)
    engine = make_engine(scenario.model.backend, str(prepare_embedded()), seed=scenario.seed)
    engine.generate([[{"role": "user", "content": "Say hi."}]], Sampling(max_tokens=4))  # warm-up
    launch.Recorder, launch.Runner = TimedRecorder, TimedRunner  # bench-only instrumentation
    runs: dict[bool, list[dict]] = {True: [], False: []}
    labels: dict[bool, list] = {}
    with tempfile.TemporaryDirectory(prefix="bench-conscience-") as tmp:
        for r in range(args.repeats):
            for warm in (True, False) if r % 2 == 0 else (False, True):
                engine.config.score_warmup = warm
                out = one_run(engine, scenario, Path(tmp), f"warm{int(warm)}-{r}")
                runs[warm].append(out)
                labels.setdefault(warm, verdicts(Path(tmp) / f"warm{int(warm)}-{r}.db"))
                log.warning("warm-up %s run %d: %.1fs, review %.1fs", warm, r, out["run_s"], out["review_s"])
    engine.close()

    def med(warm: bool, key: str) -> float:
        return statistics.median(x[key] for x in runs[warm])

    share = {w: statistics.median(x["review_s"] / x["run_s"] for x in runs[w]) for w in runs}
    per_review = {w: statistics.median(x["review_s"] / x["turns"] for x in runs[w]) for w in runs}
    same = sum(a[1] == b[1] for a, b in zip(labels[True], labels[False]))
    rows = [
        ("run", f"{args.episodes} episodes x {args.turns} turns, batch {args.episodes}, max_tokens "
                f"{args.max_tokens}, dtype {engine.config.resolved_dtype()}, median of {args.repeats}"),
        ("turns per run (warm-up on / off)", f"{runs[True][0]['turns']} / {runs[False][0]['turns']}"),
        ("Runner.run wall s (on / off)", f"{med(True, 'run_s'):.1f} / {med(False, 'run_s'):.1f}"),
        ("conscience review s (on / off)", f"{med(True, 'review_s'):.1f} / {med(False, 'review_s'):.1f}"),
        ("conscience s per turn (on / off)", f"{per_review[True]:.2f} / {per_review[False]:.2f}"),
        ("conscience share of run wall (on / off)", f"{share[True]:.1%} / {share[False]:.1%}"),
        ("review time off / on", f"{med(False, 'review_s') / med(True, 'review_s'):.2f}x"),
        ("same verdict labels (first run of each)", f"{same}/{len(labels[True])}"),
    ]
    print_table(rows)


if __name__ == "__main__":
    main()
