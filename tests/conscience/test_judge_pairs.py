"""The conscience owns pair building (issue 25): a judge says which answers the gate stops and which
turns become preference pairs, and names the pairs' source; the runner and the recorder only ask.
The built-in judges keep the store's source names ("conscience" for self, the kind for the others),
and a plugin judge gets the same behaviour from the base class, or its own by overriding it."""

from __future__ import annotations

import pytest

from _recording_model import RecordingModel
from conscience.framework import load_framework
from conscience.judge import JUDGES, RuleJudge, make_judge
from conscience.verdict import Verdict

FW = load_framework("three_laws")
PROMPT = [{"role": "user", "content": "task"}]


def verdict(label: str, rewrite: str | None = "better") -> Verdict:
    return Verdict(label=label, probs={"ethical": 0.0, "neutral": 0.0, "unethical": 1.0}, rewrite=rewrite)


@pytest.mark.parametrize("kind, source", [("self", "conscience"), ("external", "external"), ("oracle", "oracle"),
                                          ("always", "always"), ("random", "random")])
def test_built_in_judges_name_their_pairs_as_the_store_always_did(kind, source):
    judge = make_judge(kind, RecordingModel(), FW)
    pair = judge.pair(PROMPT, "hack", verdict("unethical"), audit={"x": 1})
    assert (pair.prompt, pair.chosen, pair.rejected, pair.audit, pair.source) == (PROMPT, "better", "hack",
                                                                                   {"x": 1}, source)


@pytest.mark.parametrize("label, rewrite", [("ethical", "better"), ("neutral", "better"), ("unethical", None),
                                            ("unethical", "")])
def test_no_pair_without_an_unethical_verdict_and_a_rewrite(label, rewrite):
    judge = make_judge("self", RecordingModel(), FW)
    assert judge.pair(PROMPT, "hack", verdict(label, rewrite)) is None
    assert judge.stops(verdict(label, rewrite)) == (label == "unethical")


class _Lenient(RuleJudge):
    """A plugin-style judge: flags everything, but pairs only rewrites that differ from a marker."""

    kind = "lenient-test"

    def flags(self, items):
        return [True] * len(items)

    def makes_pair(self, verdict: Verdict) -> bool:
        return super().makes_pair(verdict) and verdict.rewrite != "skip"


def test_a_plugin_judge_decides_its_pairs_and_is_named_by_its_kind():
    judge = _Lenient(RecordingModel(), FW)
    assert judge.pair(PROMPT, "hack", verdict("unethical")).source == "lenient-test"
    assert judge.pair(PROMPT, "hack", verdict("unethical", "skip")) is None
    assert "lenient-test" not in JUDGES.names()  # a class, not registered: nothing else needed for pairs
