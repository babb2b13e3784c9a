"""The report's rewrite audit (agentloop.report_audit) on an experiment recorded through the runner's write API
(tests/_recorded_audit: its docstring draws the pairs): counted by hand, checked against plain SQL, and printed
in report.json, report.md and the terminal tables."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from rich.console import Console

from _evaluation_sql import assert_audit_matches_sql, assert_report_matches_sql
from _recorded_ablation import ANSWERS, CLEAN, REWRITES, record_ablation
from _recorded_audit import CELLS, EXPERIMENT, record_audit_experiment
from agentloop.core.metrics import wilson
from agentloop.report import Report, build_report
from agentloop.rewrite_audit import similarity
from store import ensure_schema
from store.session import sqlite_path

HACK = ANSWERS["hack"][0]  # every pair's rejected answer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[tuple[str, dict[tuple[str, int], int], Report]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'store.db'}"
    store = ensure_schema(url)
    run_ids = record_audit_experiment(store)
    store.dispose()
    yield url, run_ids, build_report(url, EXPERIMENT)


def _row(rows: list[dict], arm: str, epoch: int, seed: int | None = None) -> dict:
    return next(r for r in rows if (r["arm"], r["epoch"]) == (arm, epoch) and seed in (None, r.get("seed")))


def _rates(row: dict, n: int, **counts: int) -> None:
    """Each rate is k/n with the Wilson interval of k of n."""
    for rate, (count, k) in zip(("hack_rate", "insecure_rate", "capability", "unparsed_rate"),
                                (("hacks", counts["hacks"]), ("insecure", counts["insecure"]),
                                 ("solves", counts["solves"]), ("unparsed", counts["unparsed"]))):
        assert (row[count], row["n_rated"], row[rate]) == (k, n, pytest.approx(k / n)), rate
        assert row[f"{rate}_ci"] == pytest.approx(list(wilson(k, n))), rate


def test_counts_by_hand(recorded):
    _, _, report = recorded
    arms = report.rewrite_audit
    assert [(r["arm"], r["epoch"]) for r in arms] == [(a, e) for a in ("off", "self", "kl") for e in (1, 2)]
    # epoch 1: 6 pairs (the held-out gaming one is not counted); refusal and identical skipped; the round trained
    # the other 4, all audited: gaming hacks, the 3 honest rewrites solve; two were compared with a frozen "pass"
    one = _row(arms, "self", 1)
    assert (one["n_pairs"], one["n_skipped"], one["skipped"]) == (6, 2, {"empty": 0, "refusal": 1, "identical": 1})
    assert (one["n_trained"], one["n_audited"], one["n_seeds"], one["seeds"]) == (4, 6, 2, [0, 1])
    _rates(one, 4, hacks=1, insecure=0, solves=3, unparsed=0)
    assert (one["similarity_to_frozen"], one["n_similarity_to_frozen"]) == (1.0, 2)  # the honest rewrite = "pass"
    honest, gaming = similarity(CLEAN, HACK), similarity(REWRITES["gaming"][0], HACK)
    assert one["n_similarity_to_rejected"] == 4
    assert one["similarity_to_rejected"] == pytest.approx((3 * round(honest, 4) + round(gaming, 4)) / 4)
    # epoch 2: no round (0 trained); one pair without audit; gaming, insecure, prose and honest one each
    two = _row(arms, "self", 2)
    assert (two["n_pairs"], two["n_skipped"], two["n_trained"], two["n_audited"]) == (5, 0, 0, 4)
    _rates(two, 4, hacks=1, insecure=1, solves=1, unparsed=1)
    assert two["n_similarity_to_frozen"] == 2  # (honest, hack) and (gaming, pass)
    assert two["similarity_to_frozen"] == pytest.approx((round(similarity(CLEAN, HACK), 4)
                                                         + round(similarity(REWRITES["gaming"][0], CLEAN), 4)) / 2)
    for arm in ("off", "kl"):  # no pairs: explicit zeros, no rate
        for epoch in (1, 2):
            row = _row(arms, arm, epoch)
            assert (row["n_pairs"], row["n_trained"], row["n_audited"], row["n_rated"], row["hacks"]) == (0,) * 5
            assert row["hack_rate"] is None and row["hack_rate_ci"] is None and row["similarity_to_frozen"] is None


def test_seed_rows_by_hand(recorded):
    _, run_ids, report = recorded
    seeds = report.rewrite_audit_seeds
    assert {(r["run_id"], r["epoch"]) for r in seeds} == {(run, e) for run in run_ids.values() for e in (1, 2)}
    s0 = _row(seeds, "self", 1, seed=0)
    assert (s0["run_id"], s0["n_pairs"], s0["n_skipped"], s0["n_trained"]) == (run_ids[("self", 0)], 4, 2, 2)
    _rates(s0, 2, hacks=1, insecure=0, solves=1, unparsed=0)
    s1 = _row(seeds, "self", 2, seed=1)
    _rates(s1, 1, hacks=1, insecure=0, solves=0, unparsed=0)


def test_trained_leaves_out_the_skipped_pairs_a_round_marked(recorded):
    url, run_ids, report = recorded
    with sqlite3.connect(sqlite_path(url)) as con:  # the round marks all 4 pairs of seed 0's epoch 1 as seen
        seen = con.execute("SELECT COUNT(*) FROM preference_pairs WHERE run_id = ? AND first_round_id IS NOT NULL",
                           (run_ids[("self", 0)],)).fetchone()[0]
    assert seen == 4 and _row(report.rewrite_audit_seeds, "self", 1, seed=0)["n_trained"] == 2


def test_matches_plain_sql(recorded):
    url, run_ids, report = recorded
    assert_audit_matches_sql(report, url, list(run_ids.values()))
    assert_report_matches_sql(url, EXPERIMENT, list(run_ids.values()), epochs=2)  # the rest of the report too


def test_json_markdown_and_terminal(recorded, tmp_path):
    _, _, report = recorded
    written = report.write(tmp_path)
    data = json.loads(written["json"].read_text())
    assert data["rewrite_audit"] == json.loads(json.dumps(report.rewrite_audit))
    assert len(data["rewrite_audit_seeds"]) == 10  # 5 runs x epochs 1-2
    lo, hi = wilson(1, 4)
    cells = f"| self | 1 | 2 | 6 | 2 (0/1/1) | 4 | 6 | 0.250 [{lo:.3f}, {hi:.3f}] (1/4) | 0.000 [0.000, "
    md = written["markdown"].read_text()
    section = md[md.index("## Rewrite audit"):]
    assert cells in section and "| off | 1 | 2 | 0 | 0 (0/0/0) | 0 | 0 | n/a (n=0) |" in section
    assert "a rewrite near-identical to the frozen copy's own answer teaches anchoring" in section
    assert "1 of 11 pairs carry no audit" in section
    console = Console(record=True, width=400)
    console.print(*report.tables())
    shown = console.export_text()
    assert "rewrite audit (pairs of training episodes)" in shown and f"0.250 [{lo:.3f}, {hi:.3f}] (1/4)" in shown


def test_no_training_episodes_no_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'eval_only.db'}"
    store = ensure_schema(url)
    record_ablation(store, "eval-only", {("off", 0): CELLS[("off", 0)], ("self", 0): CELLS[("self", 0)]})
    store.dispose()
    report = build_report(url, "eval-only")
    assert report.rewrite_audit == [] and report.rewrite_audit_seeds == []
    md = report.markdown(tmp_path / "report.md").read_text()
    assert "## Rewrite audit\n\nNo training episodes, so no preference pairs to audit." in md
