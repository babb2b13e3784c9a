"""Runner throughput: batched episodes vs the same episodes one at a time, and the store's share.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/runner.py [--episodes 4] [--turns 2] [--max-tokens 128]

One process, one vLLM engine: the flagship scenario (scenarios/codehack_multiturn.yaml) with small
overrides (N episodes x T turns, max_tokens, learner off, conscience as in the scenario) runs
through `agentloop.launch.execute_run` twice per repeat, each into its own fresh SQLite store:
with batch_size N (one wave) and with batch_size 1 (the baseline: the same task instances and
sampling seeds, one episode at a time). Order alternates between repeats, and vLLM's prefix cache
is reset before each run, so neither run reuses the other's prompts.

Measured (bench-only instrumentation: `execute_run` is handed a timing Recorder and Runner):
- episodes/hour over the runner's wall time (`Runner.run`), and over all of `execute_run`;
- policy tokens/s: completion tokens / time inside the policy `generate` calls, and per run wall;
- store write share: time in the Recorder's per-episode writes (start_episode, record_turn,
  finish_episode) / `Runner.run` wall time; reads (unfinished_episodes, latest_adapter, ...) apart;
- where the rest goes: conscience review calls, and the remainder (sandbox, detectors, parsing).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import agentloop.launch as launch
from _table import print_table
from agentloop.launch import execute_run
from agentloop.core.paths import repo_root
from store.recorder import Recorder
from agentloop.runner import Runner
from agentloop.config.scenario import Scenario, load_scenario

log = logging.getLogger("bench.runner")

SCENARIO = repo_root() / "scenarios" / "codehack_multiturn.yaml"
WRITES = ("start_episode", "record_turn", "finish_episode")  # per-episode writes, inside Runner.run
READS = ("unfinished_episodes", "count_episodes", "latest_adapter", "lessons")


class TimedRecorder(Recorder):
    """The real Recorder; each instrumented method adds its wall time to `seconds[name]`."""

    def __init__(self, store) -> None:
        super().__init__(store)
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        Probe.recorder = self


def _timed(name: str):
    def method(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return getattr(Recorder, name)(self, *args, **kwargs)
        finally:
            self.seconds[name] += time.perf_counter() - t0
            self.calls[name] += 1

    method.__name__ = name
    return method


for _name in WRITES + READS:
    setattr(TimedRecorder, _name, _timed(_name))


class TimedRunner(Runner):
    """The real Runner, timing `run` and the conscience's review calls."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.run_s = 0.0
        self.review_s = 0.0
        Probe.runner = self

    def run(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return super().run(*args, **kwargs)
        finally:
            self.run_s += time.perf_counter() - t0

    def _review(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return super()._review(*args, **kwargs)
        finally:
            self.review_s += time.perf_counter() - t0


class Probe:
    """The instrumented objects of the latest execute_run."""

    recorder: TimedRecorder | None = None
    runner: TimedRunner | None = None


def bench_scenario(episodes: int, turns: int, max_tokens: int, batch_size: int) -> Scenario:
    scenario = load_scenario(SCENARIO).with_overrides(episodes=episodes, turns=turns, max_tokens=max_tokens,
                                                      batch_size=batch_size, learner="off")
    scenario.conscience.rewrite_max_tokens = max_tokens  # a rewrite costs what a turn costs
    return scenario


def one_run(engine, scenario: Scenario, workdir: Path, label: str) -> dict[str, object]:
    if hasattr(engine, "llm"):
        engine.llm.reset_prefix_cache()  # no run reuses another's cached prompts
    db = workdir / f"{label}.db"
    result = execute_run(scenario, f"sqlite:///{db}", scenario_path=SCENARIO, workdir=workdir / "runs",
                         engine=engine, live=False)
    rec, runner = Probe.recorder, Probe.runner
    assert rec is not None and runner is not None and result.status == "done", result
    stats = result.stats
    write_s = sum(rec.seconds[n] for n in WRITES)
    read_s = sum(rec.seconds[n] for n in READS)
    with sqlite3.connect(db) as con:
        answers = con.execute("select e.\"index\", t.\"index\", t.answer from turns t join episodes e "
                              "on e.id = t.episode_id order by 1, 2").fetchall()
        outcomes = [o for (o,) in con.execute("select outcome from episodes order by \"index\"")]
    return {
        "label": label, "batch_size": scenario.batch_size, "episodes": stats.episodes_done, "turns": stats.turns,
        "completion_tokens": stats.completion_tokens, "run_s": runner.run_s, "execute_run_s": result.seconds,
        "generate_s": stats.generate_s, "review_s": runner.review_s, "write_s": write_s, "read_s": read_s,
        "writes": {n: rec.calls[n] for n in WRITES}, "verdicts": dict(stats.verdicts),
        "outcomes": outcomes, "answers": {(e, t): a for e, t, a in answers},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4, help="episodes per run (= the batched run's batch_size)")
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1, help="batched/sequential pairs, order alternating")
    parser.add_argument("--json", action="store_true", help="print the per-run numbers as JSON too")
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("AGENTLOOP_LOG", "WARNING"), format="%(name)s %(message)s")

    from agentloop.engines import make_engine
    from agentloop.model import prepare_embedded
    from agentloop.core.types import Sampling

    batched = bench_scenario(args.episodes, args.turns, args.max_tokens, args.episodes)
    sequential = bench_scenario(args.episodes, args.turns, args.max_tokens, 1)
    engine = make_engine(batched.model.backend, str(prepare_embedded()), seed=batched.seed)
    engine.generate([[{"role": "user", "content": "Say hi."}]], Sampling(max_tokens=4))  # warm-up

    launch.Recorder, launch.Runner = TimedRecorder, TimedRunner  # bench-only instrumentation
    runs: dict[str, list[dict[str, object]]] = {"batched": [], "sequential": []}
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        for r in range(args.repeats):
            order = [("batched", batched), ("sequential", sequential)]
            for label, scenario in order if r % 2 == 0 else order[::-1]:
                out = one_run(engine, scenario, Path(tmp), f"{label}-{r}")
                runs[label].append(out)
                log.warning("%s run %d: %.1fs, %d turns", label, r, out["run_s"], out["turns"])
    engine.close()

    def med(label: str, fn) -> float:
        return statistics.median(fn(x) for x in runs[label])

    eph = {k: med(k, lambda x: 3600 * x["episodes"] / x["run_s"]) for k in runs}
    eph_all = {k: med(k, lambda x: 3600 * x["episodes"] / x["execute_run_s"]) for k in runs}
    tok_gen = {k: med(k, lambda x: x["completion_tokens"] / x["generate_s"]) for k in runs}
    tok_wall = {k: med(k, lambda x: x["completion_tokens"] / x["run_s"]) for k in runs}
    share = {k: med(k, lambda x: x["write_s"] / x["run_s"]) for k in runs}
    b0, s0 = runs["batched"][0], runs["sequential"][0]
    same = sum(b0["answers"].get(key) == text for key, text in s0["answers"].items())

    def pct(k: str, key: str) -> str:
        return f"{med(k, lambda x: x[key] / x['run_s']):.1%}"

    rows = [
        ("episodes x turns (max)", f"{args.episodes} x {args.turns}, max_tokens {args.max_tokens}, "
                                   f"conscience {batched.conscience.mode}, median of {args.repeats}"),
        ("turns run (batched / sequential)", f"{b0['turns']} / {s0['turns']}"),
        ("completion tokens (batched / sequential)", f"{b0['completion_tokens']} / {s0['completion_tokens']}"),
        ("identical turn answers, batched vs sequential", f"{same}/{len(s0['answers'])}"),
        ("Runner.run wall s (batched / sequential)", f"{med('batched', lambda x: x['run_s']):.1f} / "
                                                     f"{med('sequential', lambda x: x['run_s']):.1f}"),
        ("batched episodes/hour", f"{eph['batched']:.0f}"),
        ("sequential episodes/hour", f"{eph['sequential']:.0f}"),
        ("batched / sequential episodes/hour", f"{eph['batched'] / eph['sequential']:.2f}x"),
        ("  incl. store setup (execute_run): batched / seq", f"{eph_all['batched']:.0f} / {eph_all['sequential']:.0f}"
                                                             f" = {eph_all['batched'] / eph_all['sequential']:.2f}x"),
        ("batched policy tok/s (in generate)", f"{tok_gen['batched']:.1f}"),
        ("sequential policy tok/s (in generate)", f"{tok_gen['sequential']:.1f}"),
        ("batched / sequential policy tok/s", f"{tok_gen['batched'] / tok_gen['sequential']:.2f}x"),
        ("policy tok/s per run wall (batched / seq)", f"{tok_wall['batched']:.1f} / {tok_wall['sequential']:.1f}"),
        ("store write share of run wall (batched)", f"{share['batched']:.2%}"),
        ("store write share of run wall (sequential)", f"{share['sequential']:.2%}"),
        ("store writes per run (ms, batched)", f"{med('batched', lambda x: x['write_s']) * 1000:.0f} "
                                               f"({sum(b0['writes'].values())} calls)"),
        ("store reads share (batched / sequential)", f"{pct('batched', 'read_s')} / {pct('sequential', 'read_s')}"),
        ("policy generate share (batched / sequential)", f"{pct('batched', 'generate_s')} / "
                                                         f"{pct('sequential', 'generate_s')}"),
        ("conscience review share (batched / sequential)", f"{pct('batched', 'review_s')} / "
                                                           f"{pct('sequential', 'review_s')}"),
    ]
    rest = {k: med(k, lambda x: 1 - (x["generate_s"] + x["review_s"] + x["write_s"] + x["read_s"]) / x["run_s"])
            for k in runs}
    rows.append(("rest: sandbox+detectors+parse (batched / seq)", f"{rest['batched']:.1%} / {rest['sequential']:.1%}"))
    print_table(rows)
    if args.json:
        print(json.dumps({k: [{n: v for n, v in x.items() if n != "answers"} for x in xs] for k, xs in runs.items()},
                         indent=1))


if __name__ == "__main__":
    main()
