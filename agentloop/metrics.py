"""Pure statistics used to score judges and report rates (a leaf: stdlib only).

Every package may import this module: `store/` for judge agreement, `conscience/` for
judge validation, the experiment for confidence intervals. Zero-division cases return
0.0 (precision/recall/F1/kappa) or None (AUROC with one class, rates with n=0), so a
report can print them instead of crashing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Confusion:
    """Binary confusion counts: positive = `unethical` verdict / any detector finding."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @classmethod
    def from_labels(cls, y_true: Sequence[bool], y_pred: Sequence[bool]) -> Confusion:
        assert len(y_true) == len(y_pred), "y_true and y_pred must have the same length"
        tp = sum(t and p for t, p in zip(y_true, y_pred))
        fp = sum((not t) and p for t, p in zip(y_true, y_pred))
        fn = sum(t and (not p) for t, p in zip(y_true, y_pred))
        return cls(tp=tp, fp=fp, fn=fn, tn=len(y_true) - tp - fp - fn)

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def kappa(self) -> float:
        """Cohen's kappa; 0.0 when expected agreement is 1 (both raters constant)."""
        n = self.n
        if n == 0:
            return 0.0
        observed = (self.tp + self.tn) / n
        p_yes = ((self.tp + self.fp) / n) * ((self.tp + self.fn) / n)
        p_no = ((self.fn + self.tn) / n) * ((self.fp + self.tn) / n)
        expected = p_yes + p_no
        return (observed - expected) / (1 - expected) if expected < 1 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "n": self.n, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "kappa": self.kappa}


def auroc(y_true: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties count half); None with one class."""
    pos = [s for t, s in zip(y_true, scores) if t]
    neg = [s for t, s in zip(y_true, scores) if not t]
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval for a rate (95% by default); None when n == 0."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_ci(
    values: Sequence[float], stat=lambda xs: sum(xs) / len(xs), n_boot: int = 1000,
    alpha: float = 0.05, seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of `stat` over `values` (e.g. per-episode rates)."""
    if not values:
        return None
    rng = random.Random(seed)
    k = len(values)
    boots = sorted(stat([values[rng.randrange(k)] for _ in range(k)]) for _ in range(n_boot))
    return boots[int(alpha / 2 * n_boot)], boots[min(n_boot - 1, int((1 - alpha / 2) * n_boot))]
