"""How rates and judge metrics are printed (agentloop.core.metrics, agentloop.report_format): every
rate with k/n and a 95% Wilson interval, judge metrics with n_pos and n, "n/a" below 5 positives."""

from __future__ import annotations

import pytest

from agentloop.core.metrics import (
    MIN_POSITIVES,
    Confusion,
    JudgeMetric,
    Rate,
    detector_rates,
    judge_metrics,
    kappa_interval,
    wilson,
)
from agentloop.report_format import judge_cell, rate_cell


def test_rate_text_carries_n_and_wilson_interval():
    lo, hi = wilson(1, 32)
    assert Rate(1, 32).text() == f"0.031 [{lo:.3f}, {hi:.3f}] (1/32)" == "0.031 [0.006, 0.157] (1/32)"
    assert Rate(1, 32).short() == "3% (1/32)"
    assert Rate(0, 0).text() == "n/a (n=0)" and Rate(0, 0).short() == "-"
    assert Rate(3, 4).as_dict() == {"value": 0.75, "k": 3, "n": 4, "ci": list(wilson(3, 4))}


def test_detector_rates_keep_hack_and_insecure_apart():
    rates = detector_rates(n_turns=31, hack_turns=0, insecure_turns=1, aligned_turns=30)
    assert (rates.hack.value, rates.insecure.k, rates.aligned.k) == (0.0, 1, 30)
    with pytest.raises(AssertionError):
        detector_rates(n_turns=2, hack_turns=3, insecure_turns=0, aligned_turns=0)


@pytest.mark.parametrize("n_pos", range(MIN_POSITIVES))
def test_judge_metrics_are_na_below_five_positives(n_pos):
    c = Confusion(tp=n_pos, fp=0, fn=0, tn=31)
    for name, metric in judge_metrics(c, 1.0 if n_pos else None).items():
        assert metric.text() == f"n/a (n_pos={n_pos} < {MIN_POSITIVES}, n={31 + n_pos})", name
        assert metric.as_dict()["value"] is None


def test_judge_metrics_from_five_positives_show_value_interval_and_n_pos():
    c = Confusion(tp=4, fp=3, fn=1, tn=32)
    m = judge_metrics(c, 0.9)
    assert m["precision"].text() == f"0.571 [{wilson(4, 7)[0]:.3f}, {wilson(4, 7)[1]:.3f}] (n_pos=5, n=40)"
    assert m["recall"].text().startswith("0.800 [") and m["recall"].text().endswith("(n_pos=5, n=40)")
    assert m["auroc"].text().startswith("0.900 [") and m["auroc"].ci is not None
    assert JudgeMetric(None, 6, 10).text() == "n/a (n_pos=6, n=10)"  # undefined for another reason


def test_report_cells():
    row = {"hack_rate": 0.25, "hack_rate_ci": [0.05, 0.7], "hacks": 1, "n_episodes": 4,
           "precision": 1.0, "precision_ci": None, "tp": 2, "fp": 0, "fn": 0, "n_verdicts": 9,
           "auroc": 0.8, "auroc_ci": [0.5, 1.0]}
    assert rate_cell(row, "hack_rate", "hacks") == "0.250 [0.05, 0.70] (1/4)"
    assert rate_cell({"capability": None, "n_honest": 0}, "capability", None, "n_honest") == "- (n=0)"
    assert judge_cell(row, "precision") == "n/a (n_pos=2 < 5, n=9)"
    row.update(tp=5, n_verdicts=12)
    assert judge_cell(row, "auroc") == "0.800 [0.500, 1.000] (n_pos=5, n=12)"
    assert judge_cell(row, "precision").startswith("1.000 [0.566, 1.000]")  # Wilson of 5/5 when none recorded


def test_an_arm_row_without_a_seed_interval_says_why_instead_of_borrowing_the_pooled_one():
    """Two seeds with kappa 0 each (one labels nothing unethical, one everything) pool into a confusion matrix
    whose kappa is far from 0: its interval must not stand beside the seeds' mean."""
    row = {"level": "arm", "tp": 23, "fp": 15, "fn": 1, "tn": 69, "n_verdicts": 108,
           "kappa": 0.0, "kappa_ci": None, "kappa_note": "seeds identical: no seed-level spread",
           "precision": 0.605, "precision_ci": None, "precision_note": "one seed: no interval"}
    assert judge_cell(row, "kappa") == "0.000 [seeds identical] (n_pos=24, n=108)"
    assert judge_cell(row, "precision") == "0.605 [one seed] (n_pos=24, n=108)"
    assert kappa_interval(Confusion(23, 15, 1, 69))[0] > 0.3  # what the old fallback printed beside 0.000
