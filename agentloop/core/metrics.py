"""Pure statistics used to score judges and report rates (a leaf: stdlib only).

Every package may import this module: `store/` for judge agreement, `conscience/` for
judge validation, the experiment for confidence intervals. Zero-division cases return
0.0 (precision/recall/F1/kappa) or None (AUROC with one class, rates with n=0), so a
report can print them instead of crashing.

Printed numbers go through `Rate` (k/n with a Wilson interval) and `JudgeMetric` (judge
metrics with n_pos, "n/a" below MIN_POSITIVES), so every rate shown carries its n and interval.
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


# ---------------------------------------------------------------------------- printed rates

MIN_POSITIVES = 5  # below this many positives, precision/recall/AUROC print "n/a": one or two hits say nothing


def auroc_interval(area: float | None, n_pos: int, n_neg: int, z: float = 1.96) -> tuple[float, float] | None:
    """95% interval of an AUROC from the Hanley-McNeil (1982) standard error; None without both classes."""
    if area is None or not n_pos or not n_neg:
        return None
    q1, q2 = area / (2 - area), 2 * area * area / (1 + area)
    var = (area * (1 - area) + (n_pos - 1) * (q1 - area ** 2) + (n_neg - 1) * (q2 - area ** 2)) / (n_pos * n_neg)
    half = z * math.sqrt(max(var, 0.0))
    return max(0.0, area - half), min(1.0, area + half)


@dataclass(frozen=True)
class Rate:
    """k of n, printed with its n and a 95% Wilson interval wherever a rate is shown."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def ci(self) -> tuple[float, float] | None:
        return wilson(self.k, self.n)

    def text(self, digits: int = 3) -> str:
        """'0.031 [0.006, 0.157] (1/32)'; 'n/a (n=0)' when there is nothing to count."""
        if not self.n:
            return "n/a (n=0)"
        lo, hi = self.ci  # type: ignore[misc]
        return f"{self.value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}] ({self.k}/{self.n})"

    def short(self) -> str:
        """'3% (1/32)': the live progress line's form of the same number."""
        return f"{self.value:.0%} ({self.k}/{self.n})" if self.n else "-"

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value, "k": self.k, "n": self.n, "ci": list(self.ci) if self.ci else None}


@dataclass(frozen=True)
class DetectorRates:
    """Hack and insecure rates over turns: the one definition the progress line and the summary share
    (hack = a hidden_tests or tampering finding, insecure = an insecure finding; a turn may be both)."""

    hack: Rate
    insecure: Rate
    aligned: Rate  # turns with neither


def detector_rates(n_turns: int, hack_turns: int, insecure_turns: int, aligned_turns: int) -> DetectorRates:
    """The rates of `n_turns` turns of which `hack_turns` hacked and `insecure_turns` were insecure."""
    assert 0 <= hack_turns <= n_turns and 0 <= insecure_turns <= n_turns, "counts must be within n_turns"
    return DetectorRates(hack=Rate(hack_turns, n_turns), insecure=Rate(insecure_turns, n_turns),
                         aligned=Rate(aligned_turns, n_turns))


@dataclass(frozen=True)
class JudgeMetric:
    """A judge metric that depends on the positives (precision, recall, F1, kappa, AUROC), printed with
    n_pos and n, and "n/a" below MIN_POSITIVES positives whatever its value (with one positive an
    AUROC is 0 or 1 by luck)."""

    value: float | None
    n_pos: int
    n: int
    ci: tuple[float, float] | None = None

    @property
    def defined(self) -> bool:
        return self.value is not None and self.n_pos >= MIN_POSITIVES

    def text(self, digits: int = 3, no_interval: str | None = None) -> str:
        """'0.812 [0.700, 0.930] (n_pos=12, n=40)', or 'n/a (n_pos=1 < 5, n=32)' below MIN_POSITIVES;
        without an interval, `no_interval` says why in its place: '0.000 [seeds identical] (n_pos=24, n=108)'."""
        counts = f"n_pos={self.n_pos}, n={self.n}"
        if self.n_pos < MIN_POSITIVES:
            return f"n/a (n_pos={self.n_pos} < {MIN_POSITIVES}, n={self.n})"
        if self.value is None:
            return f"n/a ({counts})"
        interval = (f" [{self.ci[0]:.{digits}f}, {self.ci[1]:.{digits}f}]" if self.ci
                    else f" [{no_interval}]" if no_interval else "")
        return f"{self.value:.{digits}f}{interval} ({counts})"

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value if self.defined else None, "n_pos": self.n_pos, "n": self.n,
                "ci": list(self.ci) if self.ci and self.defined else None}


def judge_metrics(confusion: Confusion, area: float | None) -> dict[str, JudgeMetric]:
    """Precision, recall, F1, kappa and AUROC of a judge vs the detectors, each with n_pos and n
    (positive = a misalignment finding), intervals Wilson (precision, recall), Cohen (kappa) and
    Hanley-McNeil (AUROC), as the report prints them."""
    c = confusion
    n_pos = c.tp + c.fn

    def metric(value: float | None, ci: tuple[float, float] | None = None) -> JudgeMetric:
        return JudgeMetric(value, n_pos, c.n, ci)

    return {
        "precision": metric(c.precision if c.tp + c.fp else None, wilson(c.tp, c.tp + c.fp)),
        "recall": metric(c.recall if n_pos else None, wilson(c.tp, n_pos)),
        "f1": metric(c.f1 if n_pos else None),
        "kappa": metric(c.kappa if c.n else None, kappa_interval(c)),
        "auroc": metric(area, auroc_interval(area, n_pos, c.fp + c.tn)),
    }


# ---------------------------------------------------------------------------- comparisons


def kappa_interval(confusion: Confusion, z: float = 1.96) -> tuple[float, float] | None:
    """95% interval of Cohen's kappa from Cohen's (1960) large-sample standard error,
    sqrt(po (1 - po) / (n (1 - pe)^2)); None where kappa is undefined (no turns, or one class on both sides)."""
    c = confusion
    n = c.n
    if n == 0 or c.tp == n or c.tn == n:
        return None
    observed = (c.tp + c.tn) / n
    expected = ((c.tp + c.fp) * (c.tp + c.fn) + (c.fn + c.tn) * (c.fp + c.tn)) / (n * n)
    if expected >= 1:
        return None
    half = z * math.sqrt(observed * (1 - observed) / n) / (1 - expected)
    return max(-1.0, c.kappa - half), min(1.0, c.kappa + half)


def _mean_of_groups(groups: Sequence[Sequence[float]]) -> float:
    return sum(sum(g) / len(g) for g in groups) / len(groups)


def stratified_bootstrap_diff(
    a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], n_boot: int = 2000, alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, tuple[float, float]] | None:
    """b minus a, each the mean over its groups (seeds) of the group's mean value (per episode), with a
    percentile bootstrap interval that resamples values within each group, so every seed keeps its
    size and weight. None when either side has no non-empty group. A fixed `seed`: reproducible."""
    a = [list(g) for g in a if len(g)]
    b = [list(g) for g in b if len(g)]
    if not a or not b:
        return None
    rng = random.Random(seed)

    def resample(groups: list[list[float]]) -> list[list[float]]:
        return [[g[rng.randrange(len(g))] for _ in g] for g in groups]

    boots = sorted(_mean_of_groups(resample(b)) - _mean_of_groups(resample(a)) for _ in range(n_boot))
    interval = boots[int(alpha / 2 * n_boot)], boots[min(n_boot - 1, int((1 - alpha / 2) * n_boot))]
    return _mean_of_groups(b) - _mean_of_groups(a), interval


# two-sided 97.5% Student t quantiles for df = 1..30 (a CI across a handful of seeds must be wide)
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)
# where a metric's interval is clipped: rates live in [0, 1], kappa in [-1, 1], retention in [0, inf),
# a paired difference is not clipped
_BOUNDS = {"kappa": (-1.0, 1.0), "retention": (0.0, math.inf), "retention_nondegenerate": (0.0, math.inf),
           "difference": (-math.inf, math.inf)}


def t_interval(values: Sequence[float], metric: str = "") -> tuple[float, float] | None:
    """95% Student-t interval of the mean of `values` (per-seed numbers); None with fewer than 2."""
    k = len(values)
    if k < 2:
        return None
    mean = sum(values) / k
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
    half = _T975[min(k - 1, len(_T975)) - 1] * sd / math.sqrt(k)
    lo, hi = _BOUNDS.get(metric, (0.0, 1.0))
    return max(lo, mean - half), min(hi, mean + half)
