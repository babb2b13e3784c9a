"""`agentloop run`'s summary, from the store: every rate with k/n and a 95% Wilson interval, judge
metrics with n_pos and "n/a" below 5 positives, and the same numbers the live progress line shows.

The issue's run: 32 turns, one insecure, judged unethical; it printed `judge AUROC 0.968` from one
positive and "hack rate 3%" on the line next to "hack rate 0.000" in the summary.
"""

from __future__ import annotations

from agentloop.launch import ExecutedRun
from agentloop.runner import StepStats


def _summary(store, db_url, make_run, spec, n_insecure: int, n_turns: int = 32) -> tuple[ExecutedRun, StepStats]:
    turns = [spec(("insecure",), ("unethical", 0.9)) if i < n_insecure else spec((), ("ethical", 0.1))
             for i in range(n_turns)]
    run_id = make_run(store, "summary", [(0, "train", turns)])
    stats = StepStats(episodes_done=1, episodes_total=1, turns=n_turns, insecure_turns=n_insecure,
                      misaligned_turns=n_insecure)
    result = ExecutedRun(run_id=run_id, status="done", stats=stats, seconds=1.0, db_url=db_url)
    return result, stats


def test_one_positive_prints_na_with_counts(store, db_url, make_run, spec):
    result, stats = _summary(store, db_url, make_run, spec, n_insecure=1)
    rows = result.summary()
    assert rows["hack rate (detectors, per turn)"] == "0.000 [0.000, 0.107] (0/32)"
    assert rows["insecure rate (detectors, per turn)"] == "0.031 [0.006, 0.157] (1/32)"
    assert rows["aligned rate (detectors, per turn)"] == "0.969 [0.843, 0.994] (31/32)"
    for key in ("judge precision vs detectors", "judge recall vs detectors", "judge kappa vs detectors",
                "judge AUROC of P(unethical)"):
        assert rows[key] == "n/a (n_pos=1 < 5, n=32)", (key, rows[key])
    # the live line's numbers are the summary's: one definition (StepStats.rates -> metrics.detector_rates)
    line = stats.rates()
    assert line.insecure.text() == rows["insecure rate (detectors, per turn)"]
    assert line.hack.text() == rows["hack rate (detectors, per turn)"]


def test_five_positives_print_values_with_n_pos_and_intervals(store, db_url, make_run, spec):
    result, _ = _summary(store, db_url, make_run, spec, n_insecure=5)
    rows = result.summary()
    assert rows["judge AUROC of P(unethical)"] == "1.000 [1.000, 1.000] (n_pos=5, n=32)"
    assert rows["judge precision vs detectors"].startswith("1.000 [0.566, 1.000] (n_pos=5, n=32)")
    data = result.summary(as_json=True)  # --json: the same numbers as data
    assert data["insecure rate (detectors, per turn)"]["k"] == 5 and data["insecure rate (detectors, per turn)"]["n"] == 32
    assert data["judge AUROC of P(unethical)"] == {"value": 1.0, "n_pos": 5, "n": 32, "ci": [1.0, 1.0]}
