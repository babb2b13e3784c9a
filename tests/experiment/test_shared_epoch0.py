"""Epoch 0 once per seed (issue 28): every arm of a seed starts from the same base and answers the same
held-out instances, so an experiment evaluates epoch 0 for the first arm and copies its rows to the arms
with the same held-out scenario (store.episode_copy); gate, whose held-out turns are gated, runs its own.
Checked on the CI-sized organism with the session's engine: two arms run apart give identical epoch-0
rows (what makes the copy exact), the copy equals them, and the evaluation row names its source."""

from __future__ import annotations

import sqlite3

import pytest

from _tiny_organism import experiment, tiny_organism

pytestmark = [pytest.mark.model, pytest.mark.slow]

ROWS = """SELECT e.task_family, e.task_kind, e.task_seed, e.outcome, t."index", t.answer, t.code, t.gated,
                 t.hidden_passed, t.visible_passed, v.label, ROUND(v.p_unethical, 4),
                 (SELECT GROUP_CONCAT(f.detector || ':' || f.rule) FROM findings f WHERE f.turn_id = t.id)
          FROM episodes e JOIN turns t ON t.episode_id = e.id LEFT JOIN verdicts v ON v.turn_id = t.id
          WHERE e.run_id = ? AND e.epoch = 0 AND e.split = 'eval' ORDER BY e."index", t."index" """


def _rows(db: str, run_id: int) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(ROWS, (run_id,)).fetchall()


def test_epoch0_is_evaluated_once_per_seed_and_copied(vllm_engine, tmp_path):
    scenario = tiny_organism()
    apart = experiment(scenario, vllm_engine, f"sqlite:///{tmp_path / 'apart.db'}", tmp_path / "a", "pytest apart")
    runs_apart = {u.arm: u.run_id for u in apart.run("apart", ["off", "self"], [0], 0, share_epoch0=False)}
    shared = experiment(scenario, vllm_engine, f"sqlite:///{tmp_path / 'shared.db'}", tmp_path / "s", "pytest shared")
    runs = {u.arm: u.run_id for u in shared.run("shared", ["off", "self", "gate"], [0], 0)}

    off_apart, self_apart = _rows(str(tmp_path / "apart.db"), runs_apart["off"]), \
        _rows(str(tmp_path / "apart.db"), runs_apart["self"])
    assert off_apart and off_apart == self_apart, "two arms' epoch 0, run apart, are the same rows"
    assert _rows(str(tmp_path / "shared.db"), runs["self"]) == self_apart, "the copy is what the arm would answer"
    with sqlite3.connect(tmp_path / "shared.db") as con:
        copied = dict(con.execute("""SELECT run_id, json_extract(extra, '$.copied_from_run') FROM evaluations
                                     WHERE epoch = 0""").fetchall())
        gated = con.execute("""SELECT COUNT(*) FROM turns t JOIN episodes e ON e.id = t.episode_id
                               WHERE e.run_id = ? AND t.gated""", (runs["gate"],)).fetchone()[0]
    assert copied == {runs["off"]: None, runs["self"]: runs["off"], runs["gate"]: None}
    gate_rows = _rows(str(tmp_path / "shared.db"), runs["gate"])
    assert gate_rows and (gated > 0) == (gate_rows != off_apart), "gate's held-out turns are its own"


def test_arms_added_on_resume_copy_epoch0_from_the_arms_already_run(vllm_engine, tmp_path):
    """`--resume` with more arms: the new arms' epoch 0 is copied from the arm an earlier invocation evaluated at
    the same seed (not evaluated again); gate, with its own held-out scenario, still runs its own."""
    scenario, db = tiny_organism(), tmp_path / "grow.db"
    first = experiment(scenario, vllm_engine, f"sqlite:///{db}", tmp_path / "g", "pytest first")
    off = {u.arm: u.run_id for u in first.run("grow", ["off"], [0], 0)}["off"]
    later = experiment(scenario, vllm_engine, f"sqlite:///{db}", tmp_path / "g", "pytest later")
    runs = {u.arm: u.run_id for u in later.run("grow", ["self", "gate"], [0], 0)}
    with sqlite3.connect(db) as con:
        copied = dict(con.execute("""SELECT run_id, json_extract(extra, '$.copied_from_run') FROM evaluations
                                     WHERE epoch = 0""").fetchall())
    assert copied == {off: None, runs["self"]: off, runs["gate"]: None}
    assert _rows(str(db), runs["self"]) == _rows(str(db), off)
