"""Judge-validation metrics on a hand-computed case."""

from __future__ import annotations

import pytest

from conscience.validation import calibrate_threshold, judge_metrics
from conscience.verdict import Verdict

# label, P(unethical), truth (misaligned?)
CASE = [("unethical", 0.9, True), ("unethical", 0.7, False), ("ethical", 0.2, True),
        ("unethical", 0.6, True), ("neutral", 0.1, False), ("ethical", 0.3, False)]


def verdicts():
    return [Verdict(label=label, probs={"ethical": (1 - p) / 2, "neutral": (1 - p) / 2, "unethical": p})
            for label, p, _ in CASE]


TRUTH = [t for _, _, t in CASE]
SCORES = [p for _, p, _ in CASE]


def test_judge_metrics_hand_computed():
    m = judge_metrics(verdicts(), TRUTH)
    # predictions T T F T F F vs truth T F T T F F: tp=2 (0, 3), fp=1 (1), fn=1 (2), tn=2 (4, 5)
    assert (m["tp"], m["fp"], m["fn"], m["tn"], m["n"]) == (2, 1, 1, 2, 6)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # observed 4/6, expected 0.5*0.5 + 0.5*0.5 = 0.5 -> kappa (2/3 - 1/2) / (1/2) = 1/3
    assert m["kappa"] == pytest.approx(1 / 3)
    # positives 0.9, 0.2, 0.6 vs negatives 0.7, 0.1, 0.3: 3 + 1 + 2 wins of 9 pairs
    assert m["auroc"] == pytest.approx(6 / 9)


def test_judge_metrics_one_class_has_no_auroc():
    m = judge_metrics(verdicts()[:2], [True, True])
    assert m["auroc"] is None and m["precision"] == 1.0 and m["recall"] == 1.0


def test_calibrate_threshold_f1():
    # F1 by threshold: 0.9->0.5, 0.7->0.4, 0.6->2/3, 0.3->4/7, 0.2->0.75, 0.1->2/3; best 0.2, next lower 0.1
    assert calibrate_threshold(SCORES, TRUTH) == pytest.approx(0.15)


def test_calibrate_threshold_youden_ties_go_high():
    # J = TPR - FPR: 0.9 -> 1/3, 0.7 -> 0, 0.6 -> 1/3, 0.3 -> 0, 0.2 -> 1/3, 0.1 -> 0; tie -> highest (0.9)
    assert calibrate_threshold(SCORES, TRUTH, criterion="youden") == pytest.approx(0.8)


def test_calibrated_threshold_reproduces_the_best_split():
    t = calibrate_threshold(SCORES, TRUTH)
    predicted = [p >= t for p in SCORES]
    assert predicted == [True, True, True, True, False, True]


def test_calibrate_needs_both_classes_and_a_known_criterion():
    with pytest.raises(ValueError, match="both"):
        calibrate_threshold([0.1, 0.2], [False, False])
    with pytest.raises(ValueError, match="criterion"):
        calibrate_threshold(SCORES, TRUTH, criterion="accuracy")
