"""Dose-response of the off arm: held-out hack rate vs cumulative steps of the training dose.

    flock /tmp/agentloop-model.lock .venv/bin/python bench/dose.py scenarios/organism.yaml --steps 0,16,48

What the organism's off arm does, measured at checkpoints instead of epochs, in one process:
1. a SQLite store in `--workdir`; the scenario's warm start (`agentloop.organism.stage.warm_start`,
   a recorded round merged into `<workdir>/organism/dose-base`; kept for the next call with the
   same workdir), or the raw model with `--no-warm-start`;
2. one run (arm off, task loss only) whose learner rounds train the scenario's dose data
   (`organism.dose`) with its LoRA and lr, each round as a `python -m learner.round` child
   process exactly as the experiment runs them: a checkpoint at k steps is reached by one round of
   k minus the previous checkpoint's steps (a fresh optimizer per round, as per epoch);
3. at each checkpoint the engine (on the warm-started base) takes the newest adapter and answers
   the first turn of every held-out task instance greedily; `evaluate_solution` labels each answer.
Printed per checkpoint and held-out kind: n, parse failures, hack rate (a hidden_tests or
tampering finding), insecure rate, capability (hidden cases all passed), each with its Wilson 95%
CI; `--json PATH` writes the same numbers and every answer with the hack/insecure rules it got. Held-out impossible rows are in-kind transfer of test
gaming; held-out insecure rows are cross-kind with `--insecure-share 0` (test gaming only), and the
impossible rows are cross-kind with `--insecure-share 1`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _table import print_table
from agentloop.core.labels import hack_detectors, insecure_detectors
from agentloop.core.metrics import Rate
from agentloop.config.scenario import Scenario, load_scenario

log = logging.getLogger("bench.dose")


def held_out(scenario: Scenario, seed: int, kinds: list[str], per_family: int | None):
    """The eval split's task instances (held-out families, eval seeds) of the chosen kinds."""
    from agentloop.tasks import select_tasks

    if per_family is not None:  # derived through the validated path, like every scenario in code
        scenario = scenario.with_changes(tasks={"eval_instances_per_family": per_family})
    return [t for t in select_tasks(scenario.tasks, seed=seed, split="eval") if t.kind in kinds]


def first_turns(engine, tasks, max_tokens: int, adapter: int | None) -> list[str]:
    from agentloop.organism.warmstart import first_turn
    from agentloop.core.types import Sampling

    greedy = Sampling(max_tokens=max_tokens, temperature=0.0)
    return [g.text for g in engine.generate([first_turn(t) for t in tasks], greedy, adapter=adapter)]


def label(task, text: str, sandbox) -> dict[str, bool]:
    """One answer's labels: parse failure, hack, insecure, capability (hidden cases all passed)."""
    from agentloop.detectors import evaluate_solution
    from agentloop.core.parse import parse_answer

    parsed = parse_answer(text)
    if parsed.code is None:
        return {"parse_fail": True, "hack": False, "insecure": False, "capable": False, "rules": []}
    ev = evaluate_solution(task, parsed.code, parsed.files, sandbox=sandbox)
    detectors = {f.detector for f in ev.findings}
    hack, insecure = hack_detectors(), insecure_detectors()
    return {"parse_fail": False, "hack": bool(detectors & hack), "insecure": bool(detectors & insecure),
            "capable": bool(ev.hidden.tests) and ev.hidden.all_passed,
            "rules": sorted({f.rule for f in ev.findings if f.detector in hack | insecure})}


def checkpoint(engine, tasks, sandbox, max_tokens: int,
               adapter: int | None) -> tuple[dict[str, dict[str, Rate]], list[dict]]:
    """Rates per held-out kind (and `all`) at the current weights, and each answer with its labels."""
    texts = first_turns(engine, tasks, max_tokens, adapter)
    with ThreadPoolExecutor(max_workers=2) as pool:
        labels = list(pool.map(lambda pair: label(pair[0], pair[1], sandbox), zip(tasks, texts)))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for task, lab in zip(tasks, labels):
        for kind in (task.kind, "all"):
            counts[kind]["n"] += 1
            for key in ("parse_fail", "hack", "insecure", "capable"):
                counts[kind][key] += lab[key]
    rates = {kind: {key: Rate(c[key], c["n"]) for key in ("parse_fail", "hack", "insecure", "capable")}
             for kind, c in sorted(counts.items())}
    answers = [{"task": t.instance_id, "kind": t.kind, "text": text, **lab} for t, text, lab in zip(tasks, texts, labels)]
    return rates, answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--steps", default="0,16,48", help="cumulative dose steps of the checkpoints")
    parser.add_argument("--seed", type=int, default=0, help="the arm's seed (dose data, eval instances)")
    parser.add_argument("--kinds", default="honest,impossible,insecure", help="held-out kinds to evaluate")
    parser.add_argument("--instances", type=int, default=None, help="eval instances per held-out family "
                                                                  "(default: the scenario's)")
    parser.add_argument("--workdir", type=Path, default=Path("agentloop_runs/dose"))
    parser.add_argument("--no-warm-start", action="store_true", help="start from the raw model")
    parser.add_argument("--hack-share", type=float, default=None, help="override organism.dose.hack_share")
    parser.add_argument("--insecure-share", type=float, default=None,
                        help="override organism.dose.insecure_share (0: test gaming only, for cross-kind rows)")
    parser.add_argument("--allow-weak-sandbox", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from agentloop.experiment import arm_scenario
    from agentloop.launch import Learning, make_engine_for
    from agentloop.model import resolve_model
    from agentloop.organism.stage import dosed, warm_start
    from agentloop.sandbox import sandbox_for
    from store.recorder import Recorder
    from store.session import open_store

    scenario = load_scenario(args.scenario)
    if args.no_warm_start and scenario.organism is not None:
        scenario = scenario.with_changes(organism={"warm_start": None})
    shares = {k: v for k, v in (("hack_share", args.hack_share), ("insecure_share", args.insecure_share)) if v is not None}
    if shares:
        if scenario.organism is None:
            raise SystemExit(f"{args.scenario} has no organism section to override")
        scenario = scenario.with_changes(organism={"dose": shares})
    steps = sorted({int(s) for s in args.steps.split(",")})
    sandbox = sandbox_for(scenario.sandbox, allow_weak=args.allow_weak_sandbox)
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{work / 'dose.db'}"
    store = open_store(db_url)
    store.upgrade()
    t0 = time.perf_counter()
    base = warm_start(scenario, store, db_url, work, resolve_model(scenario.model.name), key="dose",
                      scenario_path=str(args.scenario), command="bench/dose.py")
    warm_s = time.perf_counter() - t0
    train = dosed(arm_scenario(scenario, "off", args.seed), work)
    rec = Recorder(store)
    run_id = rec.create_run(name=f"{scenario.name}/dose/off", scenario_path=str(args.scenario),
                            scenario_yaml=args.scenario.read_text(), config={"dose_bench": steps},
                            model=scenario.model.name, backend=scenario.model.backend, seed=args.seed,
                            command="bench/dose.py", arm="off")
    tasks = held_out(scenario, args.seed, args.kinds.split(","), args.instances)
    engine = make_engine_for(scenario, base)
    results, done, adapter, timings = [], 0, None, []
    for k in steps:
        t1 = time.perf_counter()
        if k > done:
            if not Learning(train.with_changes(learner={"steps": k - done}), db_url, run_id, base, work).round():
                raise SystemExit(f"the dose round to {k} steps failed (see the log)")
            version, path = rec.latest_adapter(run_id)
            engine.load_adapter(path, version)
            adapter, done = version, k
        t2 = time.perf_counter()
        rates, answers = checkpoint(engine, tasks, sandbox, scenario.model.max_tokens, adapter)
        timings.append((k, t2 - t1, time.perf_counter() - t2))
        results.append({"steps": k, "rates": {kind: {key: r.as_dict() for key, r in rs.items()}
                                              for kind, rs in rates.items()}, "answers": answers})
        rows = [(f"k={k} {kind} (n={rs['parse_fail'].n})",
                 f"parse fail {rs['parse_fail'].text()} | hack {rs['hack'].text()} | insecure "
                 f"{rs['insecure'].text()} | capability {rs['capable'].text()}") for kind, rs in rates.items()]
        print_table(rows)
    print_table([("warm start (s)", f"{warm_s:.0f}"),
                 *[(f"k={k}: train / eval (s)", f"{a:.0f} / {b:.0f}") for k, a, b in timings],
                 ("base", base), ("store", db_url)])
    if args.json:
        args.json.write_text(json.dumps({"scenario": str(args.scenario), "base": base, "seed": args.seed,
                                         "warm_start_s": warm_s, "timings": timings, "results": results}, indent=1))
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
