"""The frozen-copy conscience: frameworks as data, verdicts from label log-probabilities,
rewrites, and judge validation. Imports nothing of `agentloop` but its leaf modules.

    from conscience import load_framework, make_judge, ReviewItem
    judge = make_judge("self", engine, load_framework("three_laws"))
    verdicts = judge.review([ReviewItem(question=..., reasoning=..., answer=...)])
"""

from conscience.framework import BUILTIN_FRAMEWORKS, Framework, load_framework
from conscience.judge import JUDGE_KINDS, ExternalJudge, Judge, OracleJudge, SelfJudge, make_judge
from conscience.judge_eval import JudgeEvalResult, LabelledItem, evaluate_judge, load_judge_set
from conscience.model import JudgeModel
from conscience.prompts import ReviewItem, render_classify, render_rewrite
from conscience.validation import calibrate_threshold, judge_metrics
from conscience.verdict import LABELS, Verdict, verdict_from_logprobs

__all__ = [
    "BUILTIN_FRAMEWORKS", "Framework", "load_framework",
    "JUDGE_KINDS", "Judge", "SelfJudge", "OracleJudge", "ExternalJudge", "make_judge",
    "JudgeEvalResult", "LabelledItem", "evaluate_judge", "load_judge_set",
    "JudgeModel", "ReviewItem", "render_classify", "render_rewrite",
    "calibrate_threshold", "judge_metrics", "LABELS", "Verdict", "verdict_from_logprobs",
]
