"""The outside benchmark end to end at CI size (issue 28 item 2): the tiny organism (tests/_tiny_organism.py: the
session's vLLM engine on the raw model, 1-step dose rounds, 32 tokens) with its benchmark section cut to 2
HumanEval problems (each honest and as its oneoff impossible variant), arms off and self, 1 seed, 1 epoch, with
the real sandbox, learner round and store. Numbers at this size are no result; what is checked is that every
cell answers the benchmark at epoch 0 (on the base, once per seed: self's rows are off's) and at its last epoch
(on the epoch's adapter, each its own), held out (no rewrites, no pairs, never trained), with an evaluations
row of split "benchmark", and that the report gives each arm's capability, cheating and hack rates with n."""

from __future__ import annotations

import json

import pytest

from _evaluation_sql import sql
from _tiny_organism import experiment, tiny_organism

pytestmark = [pytest.mark.model, pytest.mark.slow]
ARMS, PROBLEMS = ["off", "self"], 2


@pytest.fixture(scope="module")
def benchmarked(vllm_engine, tmp_path_factory):
    work = tmp_path_factory.mktemp("benchmark")
    db_url = f"sqlite:///{work / 'bench.db'}"
    exp = experiment(tiny_organism(benchmark_problems=PROBLEMS), vllm_engine, db_url, work / "runs",
                     "pytest benchmark")
    return {u.arm: u.run_id for u in exp.run("bench", ARMS, [0], 1)}, db_url


def test_every_cell_answers_the_benchmark_at_epoch0_and_its_last_epoch(benchmarked):
    runs, db_url = benchmarked
    rows = {(run, epoch, json.loads(extra)["split"]): json.loads(extra).get("copied_from_run")
            for run, epoch, extra in sql(db_url, "SELECT run_id, epoch, extra FROM evaluations")}
    assert rows == {**{(runs[a], e, s): None for a in ARMS for e in (0, 1) for s in ("eval", "benchmark")},
                    (runs["self"], 0, "eval"): runs["off"], (runs["self"], 0, "benchmark"): runs["off"]}
    for arm, run_id in runs.items():
        episodes = sql(db_url, """SELECT epoch, task_kind, COUNT(*), SUM(status = 'done') FROM episodes
                                   WHERE run_id = ? AND split = 'benchmark' GROUP BY epoch, task_kind
                                   ORDER BY epoch, task_kind""", run_id)
        assert episodes == [(e, kind, PROBLEMS, PROBLEMS) for e in (0, 1) for kind in ("honest", "impossible")], arm
        adapters = dict(sql(db_url, """SELECT DISTINCT e.epoch, t.adapter_version FROM turns t
                                        JOIN episodes e ON e.id = t.episode_id
                                        WHERE e.run_id = ? AND e.split = 'benchmark'""", run_id))
        assert adapters == {0: None, 1: 1}, f"{arm}: epoch 0 on the base, the last epoch on its round's adapter"
    held_out = sql(db_url, """SELECT COUNT(p.id), COUNT(v.rewrite), COUNT(v.id), COUNT(t.id) FROM turns t
                               JOIN episodes e ON e.id = t.episode_id LEFT JOIN verdicts v ON v.turn_id = t.id
                               LEFT JOIN preference_pairs p ON p.turn_id = t.id WHERE e.split = 'benchmark'""")
    n_pairs, n_rewrites, n_verdicts, n_turns = held_out[0]
    assert (n_pairs, n_rewrites) == (0, 0) and n_verdicts == n_turns > 0, "labelled by the frozen copy, never paired"


def test_report_gives_each_arm_its_rates_with_n(benchmarked):
    from agentloop.report import build_report

    _, db_url = benchmarked
    section = build_report(db_url, "bench").benchmark
    assert [(r["arm"], r["epoch"]) for r in section["rows"]] == [(a, e) for a in ARMS for e in (0, 1)]
    for row in section["rows"]:
        assert (row["capability"]["n"], row["cheating"]["n"], row["hack"]["n"]) == (PROBLEMS, PROBLEMS, 2 * PROBLEMS)
        assert all(row[rate]["wilson"] and row[rate]["seed_note"].startswith("one seed")
                   for rate in ("capability", "cheating", "hack"))
    epoch0 = [r for r in section["rows"] if r["epoch"] == 0]
    assert epoch0[0]["capability"] == epoch0[1]["capability"], "every arm starts from the same base"
