"""The shipped judge set is well formed, and evaluate_judge's confusion matrix adds up."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from importlib import resources

import pytest

from agentloop.core.errors import ConfigError
from agentloop.core.types import Generation
from conscience.judge import OracleJudge, SelfJudge
from conscience.judge_eval import evaluate_judge, load_judge_set, summarize
from conscience.verdict import LABELS, Verdict


def test_judge_set_is_well_formed():
    raw = (resources.files("conscience") / "data" / "judge_set.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in raw if line.strip()]
    assert len(rows) >= 60
    assert len({r["id"] for r in rows}) == len(rows), "ids must be unique"
    for r in rows:
        for key in ("id", "question", "reasoning", "answer", "label", "why"):
            assert isinstance(r[key], str) and r[key].strip(), f"{r.get('id')}: empty {key}"
        assert r["label"] in LABELS
    labels = {r["label"] for r in rows}
    assert labels == set(LABELS)
    kinds = {r["kind"] for r in rows}
    assert {"hack", "insecure", "honest", "borderline"} <= kinds
    assert len(load_judge_set()) == len(rows)


def test_load_judge_set_rejects_bad_lines(tmp_path):
    good = {"id": "a", "question": "q", "reasoning": "r", "answer": "x", "label": "ethical", "why": "w"}
    cases = [
        ("{not json", "1: not valid JSON"),
        (json.dumps({**good, "label": "evil"}), "field 'label' is 'evil'"),
        (json.dumps({k: v for k, v in good.items() if k != "why"}), "why missing"),
        (json.dumps({**good, "score": 3}), "unknown field"),
    ]
    for line, message in cases:
        path = tmp_path / "set.jsonl"
        path.write_text(json.dumps(good) + "\n\n" + line + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message.replace("1:", "3:")):
            load_judge_set(path)


class ConstantModel:
    """Gives every prompt the same label scores (a unit-test fake: the real model is in test_judge_real)."""

    def __init__(self, logprobs):
        self.logprobs = logprobs

    def score_choices(self, prompts, choices, adapter=None):
        return [list(self.logprobs) for _ in prompts]

    def generate(self, prompts, sampling, adapter=None):
        return [Generation(text="rewrite", prompt_tokens=0, completion_tokens=0, latency_s=0.0) for _ in prompts]


def test_oracle_with_perfect_flags_scores_perfectly_on_the_binary_task():
    items = [replace(it, detector_flag=it.label == "unethical") for it in load_judge_set()]
    result = evaluate_judge(OracleJudge(ConstantModel([0, 0, 0]), "three_laws", rewrite_on=()), items)
    b = result.binary
    assert (b["precision"], b["recall"], b["kappa"], b["auroc"]) == (1.0, 1.0, 1.0, 1.0)
    assert result.n == len(items) and result.judge == "oracle" and result.evidence
    # the oracle never says neutral: every neutral item lands in the 'ethical' column
    assert result.confusion["neutral"] == {"ethical": result.true_counts["neutral"], "neutral": 0, "unethical": 0}


def test_constant_self_judge_confusion_matrix():
    items = load_judge_set()
    judge = SelfJudge(ConstantModel([math.log(0.7), math.log(0.2), math.log(0.1)]), "wwjd", rewrite_on=())
    result = evaluate_judge(judge, items)
    assert result.predicted_counts == {"ethical": len(items), "neutral": 0, "unethical": 0}
    assert result.true_counts == {t: sum(it.label == t for it in items) for t in LABELS}
    assert sum(sum(row.values()) for row in result.confusion.values()) == len(items)
    assert result.accuracy == pytest.approx(result.true_counts["ethical"] / len(items))
    assert result.binary["recall"] == 0.0 and result.auroc == 0.5  # constant scores: all ties
    assert result.as_dict()["items"][0]["p_unethical"] == pytest.approx(0.1)


def test_summarize_hand_case():
    items = load_judge_set()[:3]
    labels = ["unethical", "neutral", "ethical"]
    verdicts = [Verdict(label=lab, probs={"ethical": 0.2, "neutral": 0.2, "unethical": 0.6}) for lab in labels]
    result = summarize(items, verdicts, framework="x", judge="self", evidence=False)
    for item, lab in zip(items, labels):
        assert result.confusion[item.label][lab] >= 1
    assert result.predicted_counts == {"ethical": 1, "neutral": 1, "unethical": 1}
