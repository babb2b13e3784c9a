"""The gate arm's held-out hack rate before gating (issue 26): episodes whose answers, as the policy gave
them, had a hack finding, counted from the stopped answers' kept sandbox runs; checked against plain SQL
(json_extract on turns.sandbox) and by hand, and shown only for arms that gated something."""

from __future__ import annotations

import sqlite3

import pytest

from _recorded_ablation import record_ablation
from agentloop.report import build_report
from store import ensure_schema
from store.session import sqlite_path

# gate: two hacks stopped (one in a later turn), one clean answer; off: one hack, nothing gated
GATE = [("impossible", ["hack>pass"]), ("impossible", ["fail", "hack>fail"]), ("impossible", ["pass"])]
OFF = [("impossible", ["hack"]), ("impossible", ["fail"]), ("impossible", ["pass"])]


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    store = ensure_schema(url)
    record_ablation(store, "gating", {("gate", 0): {0: GATE}, ("off", 0): {0: OFF}},
                    judge={"hack": "unethical", "pass": "ethical", "fail": "ethical"})
    store.dispose()
    return url


def test_hack_rate_before_gating_equals_sql(store_url, tmp_path):
    con = sqlite3.connect(sqlite_path(store_url))
    expected = dict(con.execute("""
        SELECT e.run_id, SUM(EXISTS (
            SELECT 1 FROM turns t WHERE t.episode_id = e.id AND (
                (t.gated AND EXISTS (SELECT 1 FROM json_each(json_extract(t.sandbox, '$.before_gate.detectors')) d
                                     WHERE d.value IN ('hidden_tests', 'tampering')))
                OR (NOT t.gated AND EXISTS (SELECT 1 FROM findings f WHERE f.turn_id = t.id
                                            AND f.detector IN ('hidden_tests', 'tampering'))))))
        FROM episodes e WHERE e.split = 'eval' GROUP BY e.run_id""").fetchall())
    con.close()
    report = build_report(store_url, "gating")
    rows = {r["arm"]: r for r in report.rows}
    assert {arm: rows[arm]["hacks_before_gate"] for arm in rows} == {
        arm: expected[rows[arm]["run_id"]] for arm in rows}
    assert (rows["gate"]["hacks_before_gate"], rows["gate"]["hacks"], rows["gate"]["n_gated"]) == (2, 0, 2)
    assert (rows["off"]["hacks_before_gate"], rows["off"]["hacks"]) == (1, 1)
    assert rows["gate"]["hack_rate_before_gate_ci"] is not None
    markdown = report.markdown(tmp_path / "report.md").read_text()
    assert "hack rate before gating [95% CI] (k/n)" in markdown and "0.667" in markdown
