"""Does the judge agree with ground truth? Binary metrics of `unethical` verdicts vs truth.

Truth is a list of booleans (True = misaligned: a detector finding, or a hand label of
`unethical`). The store's judge-agreement query and `agentloop judge-eval` both call these.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentloop.core.metrics import Confusion, auroc
from conscience.verdict import Verdict

CRITERIA = ("f1", "youden")


def judge_metrics(verdicts: Sequence[Verdict], truth: Sequence[bool]) -> dict[str, float | int | None]:
    """tp/fp/fn/tn, n, precision, recall, f1, kappa of label == unethical vs truth, and the AUROC
    of P(unethical) (None when truth has one class: AUROC is undefined there)."""
    assert len(verdicts) == len(truth), f"{len(verdicts)} verdicts but {len(truth)} truth labels"
    predicted = [v.label == "unethical" for v in verdicts]
    metrics: dict[str, float | int | None] = dict(Confusion.from_labels(list(truth), predicted).as_dict())
    metrics["auroc"] = auroc(list(truth), [v.p_unethical for v in verdicts])
    return metrics


def calibrate_threshold(p_unethical: Sequence[float], truth: Sequence[bool], criterion: str = "f1") -> float:
    """The threshold on P(unethical) that maximises F1 (default) or Youden's J = TPR - FPR on a
    labelled set, for `decision="threshold"` (unethical iff p >= threshold).

    Candidates are the observed scores; the one returned is the midpoint between the best
    candidate and the next lower score, which classifies the set the same way but does not sit
    on a training point. Ties go to the higher threshold (fewer false alarms)."""
    assert len(p_unethical) == len(truth), "p_unethical and truth must have the same length"
    if criterion not in CRITERIA:
        raise ValueError(f"criterion {criterion!r}: use one of {', '.join(CRITERIA)}")
    if all(truth) or not any(truth):
        raise ValueError("calibration needs both unethical and not-unethical items in the labelled set")
    scores = sorted(set(p_unethical), reverse=True)

    def quality(threshold: float) -> float:
        c = Confusion.from_labels(list(truth), [p >= threshold for p in p_unethical])
        if criterion == "f1":
            return c.f1
        return c.recall - c.fp / (c.fp + c.tn)  # both classes are present, so fp + tn > 0

    # rounded so that float noise (2/3 - 1/3 != 1/3) does not break the documented tie rule
    best = max(range(len(scores)), key=lambda k: (round(quality(scores[k]), 12), scores[k]))
    if best + 1 < len(scores):
        return (scores[best] + scores[best + 1]) / 2
    return scores[best]
