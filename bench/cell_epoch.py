"""One cell epoch of the organism before and after the speed work of issue 28, side by side in one run.

    flock /tmp/agentloop-model.lock .venv/bin/python bench/cell_epoch.py \\
        --base agentloop_runs/<folder>/organism/<experiment>-base [--arm self] [--seed 0] [--epochs 2]

A cell epoch is what `agentloop experiment` does per (arm, seed, epoch >= 1): the training episodes
under pressure with the arm's conscience, one learner round, the held-out episodes. Both sides run
scenarios/organism.yaml as shipped (its turns, pressure, held-out families; no outside benchmark) on the given
merged warm-start
base (an experiment's `<workdir>/organism/<id>-base`, so no warm start is trained here), the same arm
and seed, each into a fresh store, on one engine:

- before: a learner process per round (`python -m learner.round`), and the sandbox switching to its pool
  uid with subprocess's `user=`/`group=` (which makes CPython fork the whole engine process instead of
  vforking): the organism until issue 28, the old spawn put back for this side only (`old_spawn`);
- after: the experiment's learner worker, loaded once for every round (learner.worker), and the uid
  switched by `setpriv` in the child (agentloop.sandbox._uids.as_uid);
- overlap: after, plus `--overlap`: the held-out episodes of epoch e and the training episodes of epoch
  e+1 in the same policy calls (both on adapter e). Its cell epoch is the mean over epochs of the
  experiment's time, so epoch 1 (training episodes alone) and the last (held-out alone) count as they are;
- block32: overlap on an engine whose vLLM KV blocks are 32 tokens (the CPU default since session 28)
  instead of vLLM's 128: a cached prefix is reused in finer steps, which the conscience's label requests
  (four per turn, sharing the prompt) and each turn's growing conversation hit.

One engine per process: the sides of one block size run in one child process, alternating there; the
block-128 sides pin the block size the organism had until then.

Epoch 0 (no round) is not a cell epoch and is left out of the ratio. Within a process the sides alternate
(before, after, overlap, before, ...) over --repeats, so drift on a shared machine hits all. Prints the per-phase
seconds (mean over epochs 1..E and repeats) of each side and the ratios of their cell-epoch times; the
answers themselves are compared too (before and after must have equal held-out hack and capability
numbers: the worker trains the same adapters; overlap's and block32's may differ in bf16, where an answer
depends on its batch and on which prefix was cached, and are printed beside them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


log = logging.getLogger("bench.cell_epoch")
ROOT = Path(__file__).resolve().parents[1]
PHASES = ("train_episodes_s", "round_s", "eval_episodes_s", "train_generate_s", "train_sandbox_s", "train_review_s",
          "train_audit_s", "eval_generate_s", "eval_sandbox_s", "eval_review_s")


@contextlib.contextmanager
def old_spawn():
    """The sandbox's spawn before issue 28: the setpriv prefix taken off again and the uid, gid and groups
    given to subprocess.Popen, as agentloop.sandbox._process did."""
    from agentloop.sandbox import _process

    real = _process.subprocess.Popen

    def popen(argv, **kwargs):
        if argv and argv[0].endswith("setpriv"):
            flags, argv = argv[1:argv.index("--")], argv[argv.index("--") + 1:]
            value = {f.split("=")[0]: int(f.split("=")[1]) for f in flags if "=" in f}
            kwargs.update(user=value.get("--reuid"), group=value.get("--regid"), extra_groups=[])
        return real(argv, **kwargs)

    _process.subprocess.Popen = popen
    try:
        yield
    finally:
        _process.subprocess.Popen = real


SIDES = ("before", "after", "overlap", "block32")
GROUPS = {128: ["before", "after", "overlap"], 32: ["block32"]}  # vLLM KV block size -> the sides run on it


def run_side(side: str, scenario, engine, base: str, arm: str, seed: int, epochs: int, folder: Path) -> dict:
    """One side's experiment (one cell) into a fresh store: per epoch its phases, and its held-out numbers."""
    from agentloop.experiment import Experiment
    from store.session import open_store

    db_url = f"sqlite:///{folder / f'{side}.db'}"
    store = open_store(db_url)
    store.upgrade()
    exp = Experiment(scenario, store, engine, db_url=db_url, workdir=folder / side, model_path=base,
                     scenario_path=str(ROOT / "scenarios" / "organism.yaml"), command=f"bench/cell_epoch.py {side}",
                     keep_learner_loaded=side != "before")
    t0 = time.perf_counter()
    with old_spawn() if side == "before" else contextlib.nullcontext():
        exp.run(f"bench-{side}", [arm], [seed], epochs, overlap=side in ("overlap", "block32"))
    wall = time.perf_counter() - t0
    with sqlite3.connect(folder / f"{side}.db") as con:
        rows = con.execute("SELECT epoch, hack_rate, capability, extra FROM evaluations "
                           "WHERE json_extract(extra, '$.split') = 'eval' ORDER BY epoch").fetchall()
    store.dispose()
    epochs_out = {e: {"hack_rate": h, "capability": c, **json.loads(x).get("phase_s", {})} for e, h, c, x in rows}
    return {"wall_s": wall, "epochs": epochs_out}


def _cell_epoch(epoch: dict) -> float:
    return epoch.get("train_episodes_s", 0.0) + epoch.get("round_s", 0.0) + epoch.get("eval_episodes_s", 0.0)


def run_group(args: argparse.Namespace, sides: list[str], block_size: int) -> dict[str, list[dict]]:
    """The sides on one engine (one KV block size), alternating over --repeats; in this process."""
    from agentloop.launch import make_engine_for
    from agentloop.config.scenario import load_scenario

    shipped = load_scenario(ROOT / "scenarios" / "organism.yaml")
    # the shipped organism on a given base: no warm start, and no outside benchmark (a cell epoch is what repeats)
    scenario = shipped.with_changes(organism={"warm_start": None}, benchmark=None, model={"block_size": block_size})
    base = str(Path(args.base).resolve())
    engine = make_engine_for(scenario, base, adapters=1)
    results: dict[str, list[dict]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for side in sides:
                folder = Path(tmp) / f"r{repeat}"
                folder.mkdir(exist_ok=True)
                results[side].append(run_side(side, scenario, engine, base, args.arm, args.seed, args.epochs, folder))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="a merged warm-start base folder")
    parser.add_argument("--arm", default="self")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--group", help=argparse.SUPPRESS)  # child: "side,side:block size"
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.group:
        names, block = args.group.split(":")
        print(json.dumps(run_group(args, names.split(","), int(block))))
        return

    results: dict[str, list[dict]] = {}
    for block, names in GROUPS.items():  # one engine per process: a group per block size
        log.warning("sides %s (KV block %d)", ", ".join(names), block)
        out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--group", f"{','.join(names)}:{block}"],
                             stdout=subprocess.PIPE, text=True, check=True)
        line = out.stdout.strip().splitlines()[-1]
        print(line, flush=True)  # first: the raw numbers survive any later error
        group = json.loads(line)
        results.update({side: [{**r, "epochs": {int(e): v for e, v in r["epochs"].items()}} for r in runs]
                        for side, runs in group.items()})  # JSON keys are strings

    trained = {side: [e for r in runs for k, e in r["epochs"].items() if k >= 1] for side, runs in results.items()}
    rows = []
    for phase in (*PHASES, "cell_epoch_s"):
        get = _cell_epoch if phase == "cell_epoch_s" else (lambda e, p=phase: e.get(p, 0.0))
        mean = {side: statistics.fmean(get(e) for e in trained[side]) for side in SIDES}
        rows.append([phase, *(f"{mean[side]:.1f}" for side in SIDES),
                     *(f"{mean['before'] / mean[side]:.2f}x" if mean[side] else "-" for side in SIDES[1:])])
    print(f"organism cell epoch, arm {args.arm}, seed {args.seed}, epochs 1..{args.epochs}, {args.repeats} repeat(s)")
    header = ["phase (mean s per epoch)", *SIDES, *(f"before/{side}" for side in SIDES[1:])]
    width = max(len(r[0]) for r in [header, *rows])
    for row in [header, *rows]:
        print(f"{row[0]:<{width}}  " + "  ".join(f"{v:>14}" for v in row[1:]))
    for side in SIDES[1:]:
        same = all(r_b["epochs"][e]["hack_rate"] == r_s["epochs"][e]["hack_rate"]
                   and r_b["epochs"][e]["capability"] == r_s["epochs"][e]["capability"]
                   for r_b, r_s in zip(results["before"], results[side]) for e in r_b["epochs"])
        print(f"held-out numbers of {side} equal to before's: {same}")
    for side in SIDES:
        print(f"{side}: held-out hack rate / capability by epoch: " + "; ".join(
            f"{e}: {v['hack_rate']:.3f} / {v['capability'] if v['capability'] is None else round(v['capability'], 3)}"
            for r in results[side] for e, v in sorted(r["epochs"].items())))


if __name__ == "__main__":
    main()
