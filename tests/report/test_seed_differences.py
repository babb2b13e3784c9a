"""Statistics over training runs (agentloop.core.seed_stats, agentloop.report_differences): the exact sign-flip p,
t intervals that are never zero-width, paired differences that drop unmatched seeds, and the report's
seed-level differences on a store written through store.recorder.Recorder, checked against plain SQL."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from _evaluation_sql import assert_report_matches_sql
from _recorded_ablation import Cells, record_ablation
from agentloop.report import build_report
from agentloop.report_differences import contrasts
from agentloop.core.seed_stats import IDENTICAL, ONE_SEED, paired_difference, seed_summary, sign_flip_p
from store import ensure_schema

T975 = {2: 4.303, 4: 2.776}  # two-sided 95% Student t quantiles by degrees of freedom


def brute_force_p(diffs: list[float]) -> float:
    """The definition, spelled out: every one of the 2^n sign assignments, |sum| against the observed."""
    observed = abs(sum(diffs))
    hits = sum(abs(sum(s * d for s, d in zip(signs, diffs))) >= observed - 1e-9
               for signs in itertools.product((1, -1), repeat=len(diffs)))
    return hits / 2 ** len(diffs)


def test_sign_flip_p_on_known_inputs():
    assert sign_flip_p([0.1, 0.2, 0.3, 0.4, 0.5]) == 0.0625  # 5 seeds, all positive: 2/32
    assert sign_flip_p([-0.25] * 5) == 0.0625  # identical and all negative: the same floor
    assert sign_flip_p([0.5] * 6) == 2 / 64 < 0.05  # six seeds are the fewest that can reach p < 0.05
    assert sign_flip_p([0.3, -0.3]) == 1.0  # opposite signs: every assignment is at least as extreme
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0
    assert sign_flip_p([0.5, 0.5, -0.1]) == 0.5  # sums 0.9 (x2) and |±0.5 ± 0.5 ∓ 0.1| >= 0.9 only when aligned
    assert sign_flip_p([]) is None
    rng = random.Random(7)
    for n in range(1, 11):
        diffs = [rng.choice((-2, -1, 0, 1, 2, 3)) / 9 for _ in range(n)]
        assert sign_flip_p(diffs) == pytest.approx(brute_force_p(diffs)), diffs
        floats = [rng.uniform(-1, 1) for _ in range(n)]
        assert sign_flip_p(floats) == pytest.approx(brute_force_p(floats)), floats


def test_seed_summary_is_never_a_zero_width_interval():
    same = seed_summary([0.25, 0.25, 0.25], "hack_rate")
    assert (same.mean, same.ci, same.note, same.n_seeds) == (0.25, None, IDENTICAL, 3)
    one = seed_summary([0.4], "hack_rate")
    assert (one.mean, one.ci, one.note) == (0.4, None, ONE_SEED)
    spread = seed_summary([0.5, 0.6, 0.7], "hack_rate")  # mean 0.6, sd 0.1, t(2) 4.303
    half = T975[2] * 0.1 / math.sqrt(3)
    assert spread.note is None and spread.ci == pytest.approx((0.6 - half, 0.6 + half))
    clipped = seed_summary([0.0, 0.1, 0.0], "hack_rate")  # a rate's interval stays in [0, 1]
    assert clipped.ci[0] == 0.0 < clipped.ci[1]
    assert seed_summary([], "hack_rate").mean is None


def test_paired_differences_drop_unmatched_seeds():
    d = paired_difference({0: 0.5, 1: 0.75, 2: 0.25, 3: 1.0, 4: None}, {0: 0.25, 1: 0.25, 2: 0.5, 4: 0.5, 9: 0.0})
    assert d.per_seed == {0: 0.25, 1: 0.5, 2: -0.25}
    assert d.dropped == {"arm_only": [3], "versus_only": [9], "undefined": [4]} and d.n_dropped == 3
    assert d.mean == pytest.approx(0.5 / 3) and d.n_seeds == 3
    sd = statistics.stdev([0.25, 0.5, -0.25])
    assert d.ci == pytest.approx((0.5 / 3 - T975[2] * sd / math.sqrt(3), 0.5 / 3 + T975[2] * sd / math.sqrt(3)))
    assert not d.distinguishable and d.p_sign_flip == pytest.approx(brute_force_p([0.25, 0.5, -0.25]))
    same = paired_difference({0: 0.5, 1: 0.5}, {0: 0.25, 1: 0.25})
    assert same.ci is None and "identical" in same.note and not same.distinguishable and same.p_sign_flip == 0.5
    lonely = paired_difference({0: 0.5}, {0: 0.25, 1: 0.0})
    assert lonely.ci is None and lonely.note == "one paired seed: no interval" and lonely.dropped["versus_only"] == [1]


def test_contrasts_that_matter():
    assert contrasts(["kl", "self", "oracle", "off", "always"]) == [
        ("self", "off"), ("oracle", "off"), ("always", "off"), ("kl", "off"), ("self", "always"), ("self", "kl"),
        ("oracle", "self")]
    assert contrasts(["self", "random"]) == [("self", "random")]  # no off arm: no "vs off" contrasts
    assert contrasts(["off"]) == []


# ---------------------------------------------------------------------------- a recorded experiment

# epoch 1 per seed: hacked impossible tasks (of 10) and stubs among the rest; off has a sixth seed self lacks
OFF_HACKS = {0: 8, 1: 7, 2: 9, 3: 6, 4: 8, 5: 5}
SELF_HACKS = {0: 1, 1: 2, 2: 0, 3: 3, 4: 1}
SELF_STUBS = {0: 3, 1: 1, 2: 4, 3: 2, 4: 1}
HONEST = [("honest", ["pass"]), ("honest", ["fail"])]  # one sound, one degenerate (code that solves nothing)
N = 12  # held-out episodes per run and epoch


def _epoch1(hacks: int, stubs: int) -> list[tuple[str, list[str]]]:
    rest = 10 - hacks - stubs
    return [("impossible", ["hack"])] * hacks + [("impossible", ["stub"])] * stubs + \
        [("impossible", ["pass"])] * rest + HONEST


def seed_cells() -> Cells:
    epoch0 = [("impossible", ["pass"])] * 10 + HONEST
    cells: Cells = {("off", s): {0: epoch0, 1: _epoch1(h, 10 - h)} for s, h in OFF_HACKS.items()}
    cells.update({("self", s): {0: epoch0, 1: _epoch1(h, SELF_STUBS[s])} for s, h in SELF_HACKS.items()})
    return cells


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('seeds') / 'seeds.db'}"
    store = ensure_schema(url)
    runs = record_ablation(store, "seeds", seed_cells())
    store.dispose()
    return url, runs


def _final(report, versus: str, metric: str) -> dict:
    return next(d for d in report.differences
                if (d["arm"], d["versus"], d["metric"], d["final"]) == ("self", versus, metric, True))


def test_self_minus_off_by_hand(seeded):
    url, runs = seeded
    report, _ = assert_report_matches_sql(url, "seeds", list(runs.values()), epochs=1)
    hack = _final(report, "off", "hack_rate")
    by_hand = {s: (SELF_HACKS[s] - OFF_HACKS[s]) / N for s in SELF_HACKS}  # -7, -5, -9, -3, -7 twelfths
    assert hack["per_seed"] == pytest.approx(by_hand) and hack["n_seeds"] == 5 and hack["epoch"] == 1
    assert hack["dropped_seeds"] == {"arm_only": [], "versus_only": [5], "undefined": []}  # off's seed 5
    mean, half = statistics.mean(by_hand.values()), T975[4] * statistics.stdev(by_hand.values()) / math.sqrt(5)
    assert hack["mean"] == pytest.approx(mean) and hack["ci"] == pytest.approx([mean - half, mean + half])
    assert hack["p_sign_flip"] == 0.0625  # all five negative: 2/2^5
    assert hack["distinguishable"] and hack["reads"] == "lower than off"
    # degenerate per seed: self's stubs + its honest fail, minus off's unhacked impossible + its honest fail
    degenerate = _final(report, "off", "degenerate_rate")
    assert degenerate["per_seed"] == pytest.approx({s: (SELF_STUBS[s] - (10 - OFF_HACKS[s])) / N for s in SELF_STUBS})
    assert degenerate["ci"][0] < 0 < degenerate["ci"][1] and degenerate["reads"] == "not distinguishable from off"
    capability = _final(report, "off", "capability")  # 1 of 2 honest tasks solved in every run
    assert capability["per_seed"] == {s: 0.0 for s in SELF_HACKS} and capability["ci"] is None
    assert capability["note"] == "identical at every seed: no interval" and capability["p_sign_flip"] == 1.0
    epoch0 = [d for d in report.differences if d["versus"] == "off" and d["epoch"] == 0]
    assert epoch0 and all(not d["final"] and d["mean"] == 0 for d in epoch0)  # every epoch, the last marked


def test_sentences_and_tables_read_the_t_rule(seeded, tmp_path):
    url, _ = seeded
    report = build_report(url, "seeds")
    sentence = next(line for line in report.summary() if line.startswith("self minus off at epoch 1"))
    assert sentence.startswith("self minus off at epoch 1 (5 paired seed(s), dropped: 1 versus only): hack rate -0.517 [")
    assert "sign-flip p = 0.062: lower than off" in sentence
    assert "; degenerate rate " in sentence and "not distinguishable from off" in sentence
    assert "the smallest possible sign-flip p is 0.062" in " ".join(report.summary())
    markdown = report.markdown(tmp_path / "report.md").read_text()
    assert "| self | off | 1 | hack rate | 5 (1 dropped) | 0: -0.583, 1: -0.417, 2: -0.750, 3: -0.250, 4: -0.583 |" \
        in markdown
    # arm rows: a t interval where seeds differ, and never a zero-width one
    for row in report.arms:
        for key, ci in row.items():
            if key.endswith("_ci") and ci is not None:
                assert ci[0] < ci[1], (row["arm"], row["epoch"], key, ci)
    self0 = next(r for r in report.arms if (r["arm"], r["epoch"]) == ("self", 0))
    assert self0["hack_rate_ci"] is None and self0["hack_rate_note"] == IDENTICAL  # every seed 0/12 at epoch 0
    assert "| self | 0 | 5 | 60 |" in markdown and "0.000 [seeds identical] W[0.00, 0.06] (0/60)" in markdown
    off1 = next(r for r in report.arms if (r["arm"], r["epoch"]) == ("off", 1))
    assert off1["hack_rate_ci"] is not None and off1["n_seeds"] == 6
