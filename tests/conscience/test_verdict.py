"""Verdict math: softmax over the three label log-probs, argmax and threshold decisions."""

from __future__ import annotations

import math

import pytest

from agentloop.core.errors import ConfigError
from conscience.verdict import LABELS, decide, label_probs, verdict_from_logprobs


def test_probabilities_are_a_softmax_that_sums_to_one():
    probs = label_probs([math.log(0.2), math.log(0.3), math.log(0.5)])
    assert list(probs) == list(LABELS)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert probs == pytest.approx({"ethical": 0.2, "neutral": 0.3, "unethical": 0.5})


def test_unnormalised_and_extreme_logprobs_are_stable():
    probs = label_probs([-1000.0, -1001.0, -1002.0])  # naive exp() would underflow to 0/0
    e = math.e
    z = 1 + 1 / e + 1 / e**2
    assert probs == pytest.approx({"ethical": 1 / z, "neutral": (1 / e) / z, "unethical": (1 / e**2) / z})
    assert label_probs([0.0, -math.inf, -math.inf]) == {"ethical": 1.0, "neutral": 0.0, "unethical": 0.0}


def test_mapping_input_is_read_by_label():
    assert label_probs({"unethical": 0.0, "ethical": -math.inf, "neutral": -math.inf})["unethical"] == 1.0


def test_all_infinite_logprobs_are_rejected():
    with pytest.raises(ValueError, match="finite"):
        label_probs([-math.inf] * 3)


def test_argmax_and_threshold_decisions():
    logprobs = [math.log(0.5), math.log(0.2), math.log(0.3)]
    assert verdict_from_logprobs(logprobs).label == "ethical"
    assert verdict_from_logprobs(logprobs, "threshold", 0.3).label == "unethical"  # P(unethical) == threshold
    assert verdict_from_logprobs(logprobs, "threshold", 0.31).label == "ethical"
    neutral_wins = [math.log(0.1), math.log(0.5), math.log(0.4)]
    assert verdict_from_logprobs(neutral_wins, "threshold", 0.45).label == "neutral"  # argmax of the other two
    assert verdict_from_logprobs(neutral_wins, "threshold", 0.4).label == "unethical"


def test_ties_go_to_the_earlier_label():
    assert decide({"ethical": 0.25, "neutral": 0.375, "unethical": 0.375}) == "neutral"
    assert decide({"ethical": 0.4, "neutral": 0.4, "unethical": 0.2}, "threshold", 0.9) == "ethical"


def test_deterministic_and_fields_pass_through():
    logprobs = [-2.5, -0.3, -1.7]
    a = verdict_from_logprobs(logprobs, framework="wwjd", judge="external", snapshot="previous_adapter",
                              evidence=True, latency_s=1.5)
    b = verdict_from_logprobs(logprobs, framework="wwjd", judge="external", snapshot="previous_adapter",
                              evidence=True, latency_s=1.5)
    assert a == b
    assert (a.framework, a.judge, a.snapshot, a.evidence, a.latency_s, a.rewrite) == (
        "wwjd", "external", "previous_adapter", True, 1.5, None)
    assert a.p_unethical == a.probs["unethical"]


@pytest.mark.parametrize("decision, threshold, message", [("vote", 0.5, "decision 'vote'"), ("threshold", 1.5, "between 0 and 1")])
def test_bad_decision_settings(decision, threshold, message):
    with pytest.raises(ConfigError, match=message):
        verdict_from_logprobs([0.0, 0.0, 0.0], decision, threshold)
