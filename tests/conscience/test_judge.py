"""Judges' batching logic: one score call, one generate call, rewrites only where needed, in order.

A recording fake model is used here on purpose: this is a unit test of the logic around the
model calls (the real model is exercised in test_judge_real.py).
"""

from __future__ import annotations


import pytest

from agentloop.core.errors import ConfigError
from agentloop.core.types import Sampling
from conscience.framework import load_framework
from conscience.judge import ExternalJudge, OracleJudge, SelfJudge, make_judge
from conscience.model import JudgeModel
from conscience.prompts import ReviewItem, render_classify, render_rewrite, truncate_middle
from _recording_model import RecordingModel
from conscience.verdict import LABELS


def items(*labels):
    return [ReviewItem(question=f"task ITEM#{i}", reasoning="r", answer=f"code LABEL:{label}",
                       evidence="finding" if label == "unethical" else "", detector_flag=label == "unethical")
            for i, label in enumerate(labels)]


FW = load_framework("three_laws")


def test_fake_satisfies_the_protocol():
    assert isinstance(RecordingModel(), JudgeModel)


def test_self_judge_one_score_call_one_generate_call_in_order():
    model = RecordingModel()
    verdicts = SelfJudge(model, FW).review(items("ethical", "unethical", "neutral", "unethical", "ethical"))
    assert model.calls == [("score_choices", 5, None), ("generate", 2, None)]
    assert [v.label for v in verdicts] == ["ethical", "unethical", "neutral", "unethical", "ethical"]
    assert [v.rewrite for v in verdicts] == [None, "rewrite of ITEM#1", None, "rewrite of ITEM#3", None]
    for v in verdicts:
        assert sum(v.probs.values()) == pytest.approx(1.0)
        assert (v.framework, v.judge, v.snapshot, v.evidence) == ("three_laws", "self", "base", False)
    # the rewrite prompts are the framework's rewrite template for exactly those items
    assert model.prompts == [render_rewrite(FW, it) for it in items("ethical", "unethical", "neutral", "unethical")[1::2]]


def test_rewrite_on_neutral_too_and_no_generate_when_nothing_needs_it():
    model = RecordingModel()
    verdicts = SelfJudge(model, FW, rewrite_on=("unethical", "neutral")).review(items("neutral", "ethical", "unethical"))
    assert model.calls == [("score_choices", 3, None), ("generate", 2, None)]
    assert [v.rewrite is not None for v in verdicts] == [True, False, True]

    model = RecordingModel()
    assert all(v.rewrite is None for v in SelfJudge(model, FW).review(items("ethical", "neutral")))
    assert model.calls == [("score_choices", 2, None)]


def test_empty_batch_makes_no_call():
    model = RecordingModel()
    assert SelfJudge(model, FW).review([]) == [] and OracleJudge(model, FW).review([]) == []
    assert model.calls == []


def test_threshold_decision_and_evidence_reach_the_prompt():
    model = RecordingModel()
    judge = SelfJudge(model, FW, evidence="detectors", decision="threshold", threshold=0.05)
    verdicts = judge.review(items("ethical"))
    assert verdicts[0].label == "unethical" and verdicts[0].evidence  # P(unethical)=0.1 >= 0.05
    assert render_classify(FW, items("ethical")[0], evidence=True) != render_classify(FW, items("ethical")[0], evidence=False)


def test_previous_adapter_snapshot_uses_the_adapter_for_both_calls():
    model = RecordingModel()
    judge = SelfJudge(model, FW, snapshot="previous_adapter")
    assert judge.review(items("ethical"))[0].snapshot == "base"  # no adapter exists yet: the base judged
    judge.adapter = 3
    v = judge.review(items("unethical"))[0]
    assert v.snapshot == "previous_adapter"
    assert model.calls[-2:] == [("score_choices", 1, 3), ("generate", 1, 3)]


def test_oracle_labels_from_detectors_rewrite_from_model():
    model = RecordingModel()
    verdicts = OracleJudge(model, FW).review(items("ethical", "unethical", "ethical"))
    assert model.calls == [("generate", 1, None)]  # no scoring: the label is the detectors'
    assert [v.label for v in verdicts] == ["ethical", "unethical", "ethical"]
    assert verdicts[1].probs == {"ethical": 0.0, "neutral": 0.0, "unethical": 1.0}
    assert verdicts[0].probs == {"ethical": 1.0, "neutral": 0.0, "unethical": 0.0}
    assert verdicts[1].rewrite == "rewrite of ITEM#1" and verdicts[1].judge == "oracle" and verdicts[1].evidence


def test_oracle_needs_detector_flags():
    with pytest.raises(ValueError, match=r"items \[0\]"):
        OracleJudge(RecordingModel(), FW).review([ReviewItem(question="q", reasoning="", answer="a")])


def test_make_judge_kinds_and_options():
    model = RecordingModel()
    assert isinstance(make_judge("self", model, "wwjd", evidence="detectors"), SelfJudge)
    external = make_judge("external", model, "four_laws")
    assert isinstance(external, ExternalJudge) and external.review(items("unethical"))[0].judge == "external"
    # a scenario passes one option set; the oracle ignores the self-only ones
    oracle = make_judge("oracle", model, FW, evidence="detectors", decision="threshold", threshold=0.2, rewrite_on=())
    assert isinstance(oracle, OracleJudge) and oracle.review(items("unethical"))[0].rewrite is None


@pytest.mark.parametrize(
    "kind, opts, message",
    [
        ("jury", {}, "judge 'jury'"),
        ("self", {"evidence": "all"}, "evidence 'all'"),
        ("self", {"decision": "vote"}, "decision 'vote'"),
        ("self", {"snapshot": "latest"}, "snapshot 'latest'"),
        ("self", {"adapter": 2}, "snapshot 'base' reviews with no adapter"),
        ("oracle", {"rewrite_on": ("bad",)}, "rewrite_on"),
    ],
)
def test_bad_judge_options(kind, opts, message):
    with pytest.raises(ConfigError, match=message):
        make_judge(kind, RecordingModel(), FW, **opts)


def test_long_answers_are_truncated_head_and_tail():
    answer = "import os\n" + "x = 1\n" * 5000 + "os._exit(0)\n"
    item = ReviewItem(question="q", reasoning="r" * 10_000, answer=answer)
    text = render_classify(FW, item, evidence=False)[0]["content"]
    assert len(text) < 6000  # ~1,500 tokens
    assert "import os" in text and "os._exit(0)" in text and "characters omitted" in text
    assert truncate_middle("short", 10) == "short"
    cut = truncate_middle("a" * 60 + "b" * 40, 30)
    assert cut.startswith("a" * 20) and cut.endswith("b" * 10) and "[... 70 characters omitted ...]" in cut


def test_rewrite_sampling_is_passed_through():
    seen = []

    class Spy(RecordingModel):
        def generate(self, prompts, sampling, adapter=None):
            seen.append(sampling)
            return super().generate(prompts, sampling, adapter)

    sampling = Sampling(max_tokens=17, temperature=0.7, seed=3)
    SelfJudge(Spy(), FW, rewrite_sampling=sampling).review(items("unethical"))
    assert seen == [sampling]
