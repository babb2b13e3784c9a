"""The control judges (issue 26): `always` and `random` label by rule, never by the model, and still
rewrite through the frozen copy; each is built from the scenario's conscience section alone.

A recording fake model (tests/conscience/test_judge.py) on purpose: a unit test of the logic
around the model calls."""

from __future__ import annotations

import pytest

from _recording_model import RecordingModel
from agentloop.core.errors import ConfigError
from agentloop.config.conscience import ConscienceSettings
from conscience.judge import JUDGES, AlwaysJudge, RandomJudge, make_judge
from conscience.prompts import ReviewItem


def _items(n: int) -> list[ReviewItem]:
    return [ReviewItem(question=f"task {i} ITEM#{i}", reasoning="r", answer=f"answer {i} LABEL:ethical")
            for i in range(n)]


def test_always_labels_every_turn_unethical_and_rewrites_each_without_scoring():
    model = RecordingModel()
    judge = AlwaysJudge.from_settings(model, ConscienceSettings(judge="always", evidence="detectors"), seed=0)
    verdicts = judge.review(_items(3))
    assert [v.label for v in verdicts] == ["unethical"] * 3 and all(v.p_unethical == 1.0 for v in verdicts)
    assert [v.rewrite for v in verdicts] == ["rewrite of ITEM#0", "rewrite of ITEM#1", "rewrite of ITEM#2"]
    assert model.calls == [("generate", 3, None)]  # the rewrites only: the model never labels
    assert {v.judge for v in verdicts} == {"always"} and not any(v.evidence for v in verdicts)


def test_random_flags_at_its_rate_reproducibly_and_independently_of_the_batch():
    items = _items(400)
    settings = ConscienceSettings(judge="random", random_rate=0.25, rewrite_on=[])
    judge = JUDGES.get("random").from_settings(RecordingModel(), settings, seed=7)
    labels = [v.label for v in judge.review(items)]
    assert 0.18 < labels.count("unethical") / len(items) < 0.32  # 100 expected; binomial sd ~8.7
    again = RandomJudge.from_settings(RecordingModel(), settings, seed=7)
    assert [v.label for v in again.review(items[::-1])][::-1] == labels  # per turn, not per position
    other_seed = RandomJudge.from_settings(RecordingModel(), settings, seed=8)
    assert [v.label for v in other_seed.review(items)] != labels
    none = RandomJudge.from_settings(RecordingModel(), settings.model_copy(update={"random_rate": 0.0}), seed=7)
    assert {v.label for v in none.review(items)} == {"ethical"}


def test_controls_ignore_the_self_only_options_and_check_their_own():
    judge = make_judge("always", RecordingModel(), "three_laws", evidence="detectors", decision="threshold",
                       threshold=0.9)
    assert isinstance(judge, AlwaysJudge)
    with pytest.raises(ConfigError, match="random_rate 1.5"):
        RandomJudge(RecordingModel(), "three_laws", rate=1.5)
    with pytest.raises(ValueError, match="random_rate"):
        ConscienceSettings(judge="random", random_rate=1.5)


def test_settings_build_every_builtin_judge_with_its_own_options():
    settings = ConscienceSettings(judge="self", decision="threshold", threshold=0.3, rewrite_max_tokens=17,
                                  snapshot="previous_adapter")
    judge = JUDGES.get("self").from_settings(RecordingModel(), settings, seed=0)
    assert (judge.decision, judge.threshold, judge.rewrite_sampling.max_tokens, judge.snapshot) == (
        "threshold", 0.3, 17, "previous_adapter")
    for kind in ("oracle", "always", "random", "external"):
        assert JUDGES.get(kind).from_settings(RecordingModel(), settings, seed=0).kind == kind
