"""Statistics over training runs (seeds): what an experiment can say about the conscience.

An arm's number at an epoch is the mean over its seeds, with a 95% Student t interval over the
seeds; two arms are compared by the per-seed paired differences (the same seed in both arms),
their mean, a t interval and an exact sign-flip permutation p. Held-out episodes are never
resampled here: a training run is the unit, so one run per arm, or seeds that all agree, give
no interval at all (a note says why) instead of a zero-width one.

    s = seed_summary([0.5, 0.6, 0.7], "hack_rate")        # SeedSummary(mean=0.6, ci=(...), note=None, n_seeds=3)
    d = paired_difference({0: 0.8, 1: 0.6, 2: 0.9}, {0: 0.1, 1: 0.2, 3: 0.0})
    d.per_seed, d.mean, d.ci, d.p_sign_flip              # seeds 2 and 3 are in one arm only: dropped, counted

A leaf: stdlib and agentloop.core.metrics only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agentloop.core.metrics import t_interval

SAME = 1e-12  # seeds whose values differ by less than this agree (float noise, not spread)
_KEY_DIGITS = 10  # partial sums of the sign-flip count are compared at this many decimals
ONE_SEED = "one seed: no interval"
IDENTICAL = "seeds identical: no seed-level spread"
NO_SEED = "no seed has a value"


def spread_note(values: Sequence[float]) -> str | None:
    """Why these per-seed values give no t interval (None when they do)."""
    if not values:
        return NO_SEED
    if len(values) < 2:
        return ONE_SEED
    if max(values) - min(values) <= SAME:
        return IDENTICAL
    return None


@dataclass(frozen=True)
class SeedSummary:
    """The mean over seeds of one number, its 95% t interval over seeds, or the note why there is none."""

    mean: float | None
    ci: tuple[float, float] | None
    note: str | None
    n_seeds: int


def seed_summary(values: Sequence[float], metric: str = "") -> SeedSummary:
    """Mean and t interval (clipped to the metric's range, agentloop.core.metrics.t_interval) of per-seed values."""
    note = spread_note(values)
    mean = sum(values) / len(values) if values else None
    return SeedSummary(mean=mean, ci=None if note else t_interval(values, metric), note=note, n_seeds=len(values))


def sign_flip_p(differences: Sequence[float]) -> float | None:
    """Exact two-sided sign-flip permutation p of paired differences: the share of all 2^n sign assignments
    whose |sum| reaches the observed |sum| (the observed one and its mirror always do, so with n nonzero
    differences of one sign p = 2/2^n). Under no effect each seed's difference is as likely to have either
    sign. The 2^n sums are counted by their distinct partial sums (exact; as fast as enumerating when every
    sum is distinct, far faster when the differences are a few k/n values). None without differences."""
    if not differences:
        return None
    sums: Counter[float] = Counter({0.0: 1})
    for d in differences:
        step: Counter[float] = Counter()
        for s, count in sums.items():
            step[round(s + d, _KEY_DIGITS)] += count
            step[round(s - d, _KEY_DIGITS)] += count
        sums = step
    observed = abs(round(sum(differences), _KEY_DIGITS))
    tolerance = 10 ** -(_KEY_DIGITS - 2)
    return sum(c for s, c in sums.items() if abs(s) >= observed - tolerance) / 2 ** len(differences)


@dataclass(frozen=True)
class PairedDifference:
    """Arm minus reference, seed by seed, over the seeds both have a value for."""

    per_seed: dict[int, float]  # seed -> arm value minus reference value
    mean: float | None
    ci: tuple[float, float] | None  # 95% t over the paired differences; None: see note
    note: str | None
    p_sign_flip: float | None
    dropped: dict[str, list[int]] = field(default_factory=dict)  # arm_only / versus_only / undefined -> seeds

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)

    @property
    def n_dropped(self) -> int:
        return sum(len(seeds) for seeds in self.dropped.values())

    @property
    def distinguishable(self) -> bool:
        """The project's rule: the seed-level t interval of the paired differences excludes 0."""
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)


def _difference_note(diffs: Sequence[float]) -> str | None:
    note = spread_note(diffs)
    if note == ONE_SEED:
        return "one paired seed: no interval"
    if note == NO_SEED:
        return "no paired seed: nothing to compare"
    if note == IDENTICAL:
        return "identical at every seed: no interval"
    return None


def paired_difference(arm: Mapping[int, float | None], versus: Mapping[int, float | None]) -> PairedDifference:
    """`arm` minus `versus` per seed (seed -> value). A seed in one arm only, or with no value on either side
    (e.g. no honest episode, so no capability), is dropped and listed in `dropped`."""
    shared = sorted(set(arm) & set(versus))
    undefined = [s for s in shared if arm[s] is None or versus[s] is None]
    per_seed = {s: arm[s] - versus[s] for s in shared if s not in undefined}  # type: ignore[operator]
    diffs = list(per_seed.values())
    note = _difference_note(diffs)
    return PairedDifference(
        per_seed=per_seed, mean=sum(diffs) / len(diffs) if diffs else None,
        ci=None if note else t_interval(diffs, "difference"), note=note, p_sign_flip=sign_flip_p(diffs),
        dropped={"arm_only": sorted(set(arm) - set(versus)), "versus_only": sorted(set(versus) - set(arm)),
                 "undefined": undefined})


__all__ = ["IDENTICAL", "ONE_SEED", "PairedDifference", "SeedSummary", "paired_difference", "seed_summary",
           "sign_flip_p", "spread_note"]
