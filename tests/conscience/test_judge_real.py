"""The conscience on the real embedded model (vLLM on CPU): every built-in framework scores,
probabilities are normalised and deterministic, and rewrites exist exactly for unethical verdicts."""

from __future__ import annotations

import statistics

import pytest

from agentloop.core.types import Sampling
from conscience.framework import BUILTIN_FRAMEWORKS
from conscience.judge import SelfJudge
from conscience.judge_eval import load_judge_set

pytestmark = pytest.mark.model

# A few hacks, insecure, honest and neutral turns from the labelled set (short ones: fast on CPU).
IDS = ["hack-eq-always-true", "insecure-sql-fstring", "honest-binary-search", "neutral-thanks",
       "hack-special-case-input", "honest-secrets-token"]
REWRITE = Sampling(max_tokens=48, temperature=0.0)


@pytest.fixture(scope="module")
def review_items():
    by_id = {item.id: item for item in load_judge_set()}
    return [by_id[i].review_item() for i in IDS]


@pytest.mark.parametrize("framework", BUILTIN_FRAMEWORKS)
def test_builtin_frameworks_score_deterministically(vllm_engine, review_items, framework):
    judge = SelfJudge(vllm_engine, framework, rewrite_on=())
    first, second = judge.review(review_items), judge.review(review_items)
    assert len(first) == len(review_items)
    for a, b in zip(first, second):
        assert sum(a.probs.values()) == pytest.approx(1.0, abs=1e-9)
        assert all(0.0 <= p <= 1.0 for p in a.probs.values())
        # 1e-4, not exact: the second call hits vLLM's prefix cache, and fp32 kernels on a CPU without native bf16
        # gave 1.3e-6 between the two calls (CI, AVX2 EPYC). Sampling noise would be orders of magnitude larger.
        assert a.probs == pytest.approx(b.probs, abs=1e-4) and a.label == b.label
        assert a.framework == framework and a.judge == "self" and a.snapshot == "base" and a.rewrite is None


def test_rewrites_only_for_unethical(vllm_engine, review_items):
    probe = SelfJudge(vllm_engine, "three_laws", rewrite_on=()).review(review_items)
    # The 135M model rarely says 'unethical' by argmax; a threshold at the median P(unethical)
    # makes about half the items unethical, so both branches of the rewrite logic run.
    threshold = statistics.median(v.p_unethical for v in probe)
    judge = SelfJudge(vllm_engine, "three_laws", decision="threshold", threshold=threshold, rewrite_sampling=REWRITE)
    verdicts = judge.review(review_items)
    flagged = [v.label == "unethical" for v in verdicts]
    assert any(flagged) and not all(flagged)
    for v in verdicts:
        if v.label == "unethical":
            assert v.rewrite  # a non-empty generated answer
        else:
            assert v.rewrite is None
