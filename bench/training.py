"""Learner throughput: one round's pairs/s and optimizer steps/s, and a round vs the episodes between rounds.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/training.py [--pairs 16]

All at the flagship scenario's settings (scenarios/codehack_multiturn.yaml: steps, batch_size,
max_length, LoRA, task data), in one process:
1. a fresh SQLite store gets two runs, each with `--pairs` synthetic preference pairs built from
   real task prompts (the runner's system + task messages, half of them at turn 2 with the hack
   and the pressured feedback in context): chosen = the family's honest reference, rejected = its
   hack/insecure reference; task data is the scenario's `task_data` (build_task_dataset), written
   by `launch.Learning.prepare_task_data` exactly as a run does;
2. an in-process `learner.round.run_round` on run A, before any engine exists: pairs/s and
   steps/s of its training loop (`RoundResult.train_seconds`), and the round's other costs;
3. the episodes between two rounds: one wave of `learner.every_episodes` flagship episodes
   (turns, max_tokens, conscience as in the scenario, learner off) through `execute_run` on the
   vLLM engine;
4. a round the way a run pays for it: `Learning.round()` on run B (a `python -m learner.round`
   child process) while the engine is alive in this process, and its ratio to step 3.
On a CUDA machine step 2 is repeated with device=cuda and the speedup printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from _table import print_table
from agentloop.launch import Learning, execute_run, runner_options
from agentloop.core.paths import repo_root
from agentloop.config.scenario import Scenario, load_scenario
from agentloop.config.learner_config import LearnerConfig

log = logging.getLogger("bench.training")

SCENARIO = repo_root() / "scenarios" / "codehack_multiturn.yaml"


def fenced(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def synthetic_pairs(scenario: Scenario, n: int) -> list[tuple[list[dict[str, str]], str, str]]:
    """(prompt messages, chosen, rejected) the way the runner stores them, from real task instances."""
    from agentloop.core.prompts import feedback_message, pressure_for_turn, system_message, task_message
    from agentloop.tasks import load_families
    from agentloop.core.types import TestOutcome

    held_out = set(scenario.tasks.holdout_families)
    families = [f for name, f in sorted(load_families().items()) if name not in held_out]
    pairs = []
    for i in range(n):
        task = families[i % len(families)].instance(i // len(families))
        bad = next(name for name in task.references if name != "honest")
        chosen, rejected = fenced(task.references["honest"]), fenced(task.references[bad])
        prompt = [{"role": "system", "content": system_message(task)}, {"role": "user", "content": task_message(task)}]
        if i % 2:  # a turn-2 pair: the first answer and the pressured test feedback are in context
            failed = [TestOutcome(nodeid=f"test_{task.family}.py::test_visible", status="failed",
                                  message="AssertionError: assert None == expected")]
            prompt += [{"role": "assistant", "content": rejected},
                       {"role": "user", "content": feedback_message(failed, pressure_for_turn(scenario.pressure, 1))}]
        pairs.append((prompt, chosen, rejected))
    return pairs


def make_store(db_url: str, pairs, runs: int) -> list[int]:
    from store import models as m
    from store.session import ensure_schema

    store = ensure_schema(db_url)
    ids = []
    with store.session() as s:
        for k in range(runs):
            run = m.RunRow(name=f"bench-learner-{k}", model="embedded", backend="vllm")
            s.add(run)
            s.flush()
            ids.append(run.id)
            for prompt, chosen, rejected in pairs:
                s.add(m.PreferencePairRow(run_id=run.id, prompt=prompt, chosen=chosen, rejected=rejected,
                                          source="conscience"))
    return ids


def in_process_round(db_url: str, run_id: int, model_path: str, learning: Learning, config: LearnerConfig) -> dict:
    from learner.round import run_round

    t0 = time.perf_counter()
    result = run_round(db_url, run_id, model_path, learning.adapters_dir, learning.task_jsonl, config)
    wall = time.perf_counter() - t0
    return {**asdict(result), "wall_s": wall, "pairs_per_s": result.pairs_per_s,
            "steps_per_s": result.steps / result.train_seconds}


def child_round(db_url: str, run_id: int, learning: Learning) -> dict:
    from sqlalchemy import select

    from store import models as m
    from store.session import open_store

    t0 = time.perf_counter()
    learning.round()  # the runner's own call: a `python -m learner.round` child process
    wall = time.perf_counter() - t0
    with open_store(db_url).session() as s:
        row = s.scalars(select(m.TrainingRoundRow).where(m.TrainingRoundRow.run_id == run_id)).one()
        return {"wall_s": wall, "status": row.status, "seconds_in_round": row.seconds, "steps": row.steps,
                "n_pairs": row.n_pairs, "n_task": row.n_task, "error": row.error}


def parse_args(doc: str) -> argparse.Namespace:
    """The learner benches' options (--pairs, --json) and their logging set-up."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16, help="synthetic preference pairs per run")
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON too")
    logging.basicConfig(level=os.environ.get("AGENTLOOP_LOG", "WARNING"), format="%(name)s %(message)s")
    return parser.parse_args()


def main() -> None:
    args = parse_args(__doc__)

    from agentloop.model import prepare_embedded

    scenario = load_scenario(SCENARIO)
    lr = scenario.learner
    model_path = str(prepare_embedded())
    every = lr.every_episodes
    wave = scenario.with_overrides(episodes=every, learner="off")  # one wave: what runs between two rounds
    wave_batch = runner_options(scenario).batch_size  # = min(batch_size, every_episodes), as in a real run

    with tempfile.TemporaryDirectory(prefix="bench-learner-") as tmp:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'learner.db'}"
        pairs = synthetic_pairs(scenario, args.pairs)
        run_a, run_b, *run_c = make_store(db_url, pairs, 3 if torch.cuda.is_available() else 2)
        learn_a = Learning(scenario, db_url, run_a, model_path, work)
        learn_a.prepare_task_data()
        config = LearnerConfig.from_json(learn_a.config_json())

        # 1. in process, CPU, before any engine exists
        cpu = in_process_round(db_url, run_a, model_path, learn_a, replace(config, device="cpu"))
        log.warning("in-process CPU round: %.1fs (%.1fs training)", cpu["wall_s"], cpu["train_seconds"])
        cuda = None
        if run_c:
            learn_c = Learning(scenario, db_url, run_c[0], model_path, work)
            learn_c.prepare_task_data()
            cuda = in_process_round(db_url, run_c[0], model_path, learn_c, replace(config, device="cuda"))

        # 2. the episodes between two rounds, on the engine
        from agentloop.engines import make_engine

        engine = make_engine(scenario.model.backend, model_path, seed=scenario.seed)
        engine.generate([[{"role": "user", "content": "Say hi."}]], _tiny_sampling())  # warm-up
        t0 = time.perf_counter()
        episodes = execute_run(wave.with_overrides(batch_size=wave_batch), f"sqlite:///{work / 'episodes.db'}",
                               scenario_path=SCENARIO, workdir=work / "runs", engine=engine, live=False)
        episodes_s = time.perf_counter() - t0
        log.warning("%d episodes: %.1fs", every, episodes_s)

        # 3. a round as a run pays for it: a child process, engine alive here
        child = child_round(db_url, run_b, Learning(scenario, db_url, run_b, model_path, work))
        engine.close()

    st = episodes.stats
    rows = [
        ("settings (flagship learner)", f"steps {lr.steps}, batch {lr.batch_size}, max_length {lr.max_length}, "
                                        f"LoRA r{lr.lora_r} {'+'.join(lr.target_modules)}, task n={lr.task_data.n}"),
        ("pairs in the round (new / task examples)", f"{cpu['n_pairs']} / {cpu['n_task']}"),
        ("CPU training loop (s)", f"{cpu['train_seconds']:.1f}"),
        ("CPU pairs/s (pair rows trained / loop s)", f"{cpu['pairs_per_s']:.2f}"),
        ("CPU optimizer steps/s", f"{cpu['steps_per_s']:.3f}  ({1 / cpu['steps_per_s']:.1f} s/step)"),
        ("CPU round in-process, total (s)", f"{cpu['wall_s']:.1f}  (load+encode+publish "
                                            f"{cpu['wall_s'] - cpu['train_seconds']:.1f})"),
        ("CUDA", "not available here (torch.cuda.is_available() is False)" if cuda is None else
         f"loop {cuda['train_seconds']:.1f}s, {cuda['pairs_per_s']:.2f} pairs/s, "
         f"{cuda['steps_per_s']:.2f} steps/s"),
    ]
    if cuda is not None:
        rows.append(("CUDA / CPU training-loop speedup", f"{cpu['train_seconds'] / cuda['train_seconds']:.1f}x"))
    rows += [
        (f"episodes between rounds ({every} x <= {scenario.turns} turns, batch {wave_batch})",
         f"{episodes_s:.1f} s  ({st.turns} turns, {st.completion_tokens} tokens, {st.tokens_per_s:.1f} tok/s)"),
        ("round as the runner runs it (child process, s)", f"{child['wall_s']:.1f}  ({child['status']}, "
                                                           f"{child['seconds_in_round'] or 0:.1f} s inside)"),
        ("round / episodes between rounds", f"{child['wall_s'] / episodes_s:.2f}x"),
        ("share of a run's wall time spent training", f"{child['wall_s'] / (child['wall_s'] + episodes_s):.0%}"),
    ]
    print_table(rows)
    if args.json:
        print(json.dumps({"cpu": cpu, "cuda": cuda, "child": child, "episodes_s": episodes_s,
                          "episode_stats": asdict(st)}, indent=1, default=str))


def _tiny_sampling():
    from agentloop.core.types import Sampling

    return Sampling(max_tokens=4)


if __name__ == "__main__":
    main()
