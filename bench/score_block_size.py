"""The frozen copy's labels (`score_choices`) per vLLM KV-block size: seconds and whether the labels change.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 flock /tmp/agentloop-model.lock \\
        .venv/bin/python bench/score_block_size.py --db sqlite:///<store.db> --run 3 \\
        --model <workdir>/organism/<experiment>-base [--sizes 128,64,32] [--repeats 2]

`score_choices` sends one 1-token request per (prompt, label, label token): the three labels' first tokens
share the prompt as context, so a prompt is 4 requests whose contexts differ only past the prompt. vLLM reuses
a prompt's KV only in whole blocks (128 tokens by default on CPU; its attention takes multiples of 32), so
every request after the first recomputes up to a block's worth of the prompt's tail. This bench labels a run's stored held-out turns (one
`score_choices` call per epoch, as the runner labels a turn wave) on engines that differ only in
`block_size`, each in its own process (one engine per process), the sides alternating over repeats. Epoch
1's call warms each engine up (the principles' shared blocks cached, as in a run) and is not timed.
Prints the seconds per call (median), the ratio against the first size, and how many labels and how far
the label log-probs differ from the first size's.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time

from _table import print_table

log = logging.getLogger("bench.score_block_size")


def review_prompts(db: str, run: int, epoch: int, framework: str) -> list:
    """The classify conversations of the run's held-out turns of `epoch` (the turn's stored prompt as the
    question, as the runner's review item holds it)."""
    from conscience.framework import load_framework
    from conscience.prompts import ReviewItem, render_classify
    from sqlalchemy import create_engine, text

    fw = load_framework(framework)
    with create_engine(db).connect() as c:
        rows = c.execute(text(
            "select t.prompt, t.reasoning, t.answer from turns t join episodes e on e.id = t.episode_id "
            "where e.run_id = :run and e.epoch = :epoch and e.split = 'eval' order by e.\"index\", t.\"index\""),
            dict(run=run, epoch=epoch)).all()
    if not rows:
        raise SystemExit(f"run {run} has no held-out turns at epoch {epoch}")
    return [render_classify(fw, ReviewItem(question=p, reasoning=r, answer=a), False) for p, r, a in rows]


def child(args: argparse.Namespace) -> None:
    """One engine at one block size: epoch 1 untimed, then epochs 2..E timed. JSON on stdout."""
    from agentloop.engines import make_engine
    from conscience.verdict import LABELS

    engine = make_engine("vllm", model=args.model, block_size=args.child, dtype=args.dtype)
    engine.score_choices(review_prompts(args.db, args.run, 1, args.framework), list(LABELS))
    seconds, scores = [], []
    for epoch in range(2, args.epochs + 1):
        prompts = review_prompts(args.db, args.run, epoch, args.framework)
        t0 = time.perf_counter()
        scores += engine.score_choices(prompts, list(LABELS))
        seconds.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": seconds, "scores": scores, "prompts": len(scores)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--run", type=int, required=True, help="a run with held-out turns at epochs 1..--epochs")
    parser.add_argument("--model", required=True, help="the frozen copy's HF folder (the merged warm-start base)")
    parser.add_argument("--framework", default="three_laws")
    parser.add_argument("--sizes", default="128,64,32")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        logging.disable(logging.WARNING)
        return child(args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sizes = [int(s) for s in args.sizes.split(",")]
    runs: dict[int, list[dict]] = {s: [] for s in sizes}
    for repeat in range(args.repeats):
        for size in sizes:
            log.info("repeat %d, block size %d", repeat + 1, size)
            out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child", str(size)],
                                 capture_output=True, text=True)
            if out.returncode:  # e.g. vLLM's CPU attention takes multiples of 32 only
                raise SystemExit(f"block size {size}: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
            runs[size].append(json.loads(out.stdout.strip().splitlines()[-1]))
    first = sizes[0]
    ref = runs[first][0]["scores"]
    per_call = {s: statistics.median(x for r in runs[s] for x in r["seconds"]) for s in sizes}
    rows = [("prompts per call (epochs 2..E, run %d)" % args.run, f"{runs[first][0]['prompts'] // (args.epochs - 1)}")]
    for size in sizes:
        scores = runs[size][0]["scores"]
        same = sum(max(range(3), key=a.__getitem__) == max(range(3), key=b.__getitem__) for a, b in zip(ref, scores))
        diff = max(abs(x - y) for a, b in zip(ref, scores) for x, y in zip(a, b))
        rows += [(f"block {size}: s per call (median)", f"{per_call[size]:.2f}"),
                 (f"block {first} / block {size}", f"{per_call[first] / per_call[size]:.2f}x"),
                 (f"block {size}: labels equal to block {first}'s", f"{same}/{len(ref)}"),
                 (f"block {size}: max |log-prob difference|", f"{diff:.4f}")]
    print_table(rows)


if __name__ == "__main__":
    main()
