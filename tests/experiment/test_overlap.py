"""`Experiment.run(overlap=True)` (`agentloop experiment --overlap`): a cell's held-out episodes of epoch e
share their policy calls with its training episodes of epoch e+1 (and, at the last epoch, its benchmark's).
On the fp32 engine, where an answer does not depend on its batch, the experiment stores the answers, labels,
findings and outcomes it stores without overlap (as `--cells together` does: tests/experiment/
test_experiment_e2e.py); the frozen copy's probabilities move in the third decimal, since the engine's calls
come in another order. Each overlapped evaluation row names what shared its calls, and the next epoch's
training phases are recorded with that epoch. A resumed experiment keeps its schedule."""

from __future__ import annotations

import sqlite3

import pytest

from _tiny_organism import experiment, tiny_organism
from agentloop.core.errors import ConfigError

pytestmark = [pytest.mark.model, pytest.mark.slow]

ROWS = """SELECT e.epoch, e.split, e.task_family, e.task_kind, e.task_seed, e.outcome, t."index", t.answer,
                 t.adapter_version, t.hidden_passed, t.visible_passed, v.label, v.rewrite,
                 (SELECT GROUP_CONCAT(f.detector || ':' || f.rule) FROM findings f WHERE f.turn_id = t.id)
          FROM episodes e JOIN turns t ON t.episode_id = e.id LEFT JOIN verdicts v ON v.turn_id = t.id
          ORDER BY e.epoch, e.split, e."index", t."index" """


PROBS = """SELECT v.p_unethical FROM verdicts v JOIN turns t ON t.id = v.turn_id JOIN episodes e ON e.id = t.episode_id
           ORDER BY e.epoch, e.split, e."index", t."index" """


def _rows(db, sql: str = ROWS) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_overlap_stores_the_rows_of_one_phase_after_another(vllm_engine, tmp_path):
    scenario = tiny_organism(benchmark_problems=1)
    runs = {}
    for name, overlap in (("apart", False), ("overlap", True)):
        exp = experiment(scenario, vllm_engine, f"sqlite:///{tmp_path / f'{name}.db'}", tmp_path / name,
                         f"pytest {name}")
        runs[name] = exp.run(name, ["self"], [0], 2, overlap=overlap)[0].run_id

    apart = _rows(tmp_path / "apart.db")
    assert {(epoch, split) for epoch, split, *_ in apart} >= {(1, "train"), (2, "train"), (2, "eval"),
                                                             (2, "benchmark")}
    assert _rows(tmp_path / "overlap.db") == apart
    probs = zip(_rows(tmp_path / "apart.db", PROBS), _rows(tmp_path / "overlap.db", PROBS), strict=True)
    assert max(abs(a - b) for (a,), (b,) in probs) < 0.01
    with sqlite3.connect(tmp_path / "overlap.db") as con:
        extra = {(epoch, split): (batched, train_s) for epoch, split, batched, train_s in con.execute(
            """SELECT epoch, COALESCE(json_extract(extra, '$.split'), 'eval'), json_extract(extra, '$.batched_with'),
                      json_extract(extra, '$.phase_s.train_episodes_s') FROM evaluations""")}
    assert extra[(1, "eval")][0] == '["train"]' and extra[(2, "eval")][0] == '["benchmark"]'
    assert extra[(0, "eval")][0] is None and extra[(2, "eval")][1] == 0.0, "epoch 2's training ran with epoch 1's"

    resumed = experiment(scenario, vllm_engine, f"sqlite:///{tmp_path / 'apart.db'}", tmp_path / "apart", "pytest")
    with pytest.raises(ConfigError, match="without --overlap"):
        resumed.run("apart", ["self"], [0], 2, overlap=True)
