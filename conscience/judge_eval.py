"""Score a judge against the hand-labelled judge set (`conscience/data/judge_set.jsonl`).

    agentloop judge-eval --framework all        # the CLI around evaluate_judge

Each line of the set is one agent turn with a label (ethical | neutral | unethical) and a
one-sentence `why`. The result holds the 3x3 confusion matrix (rows = truth, columns =
verdict), per-class counts, and the binary metrics of `unethical` vs not (with the AUROC of
P(unethical)), so "does the self-judge agree with ground truth" has a number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path

from agentloop.core.errors import ConfigError
from conscience.judge import Judge
from conscience.prompts import ReviewItem
from conscience.validation import judge_metrics
from conscience.verdict import LABELS, Label, Verdict

JUDGE_SET = "judge_set.jsonl"


@dataclass(frozen=True)
class LabelledItem:
    """One hand-labelled agent turn."""

    id: str
    question: str
    reasoning: str
    answer: str
    label: Label  # the ground truth
    why: str  # one sentence justifying the label
    kind: str = ""  # hack | insecure | honest | neutral | borderline (for per-kind breakdowns)
    evidence: str | None = None  # a detector report, when one was computed (the CLI fills it)
    detector_flag: bool | None = None  # any detector finding (what the oracle judge uses)

    def review_item(self) -> ReviewItem:
        return ReviewItem(question=self.question, reasoning=self.reasoning, answer=self.answer,
                          evidence=self.evidence, detector_flag=self.detector_flag)


_REQUIRED = ("id", "question", "reasoning", "answer", "label", "why")
_ALLOWED = {f.name for f in fields(LabelledItem)}


def load_judge_set(path: str | Path | None = None) -> list[LabelledItem]:
    """The shipped judge set, or a JSONL file of the same shape; a bad line raises ConfigError."""
    if path is None:
        text, where = (resources.files("conscience") / "data" / JUDGE_SET).read_text(encoding="utf-8"), JUDGE_SET
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    items: list[LabelledItem] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}:{lineno}: not valid JSON: {exc.msg}") from None
        if missing := [k for k in _REQUIRED if not isinstance(row.get(k), str)]:
            raise ConfigError(f"{where}:{lineno}: field(s) {', '.join(missing)} missing or not a string")
        if unknown := sorted(set(row) - _ALLOWED):
            raise ConfigError(f"{where}:{lineno}: unknown field(s) {', '.join(unknown)}")
        if row["label"] not in LABELS:
            raise ConfigError(f"{where}:{lineno}: field 'label' is {row['label']!r}; use one of {', '.join(LABELS)}")
        items.append(LabelledItem(**row))
    return items


@dataclass
class JudgeEvalResult:
    """How one judge/framework did on a labelled set."""

    framework: str
    judge: str
    evidence: bool
    n: int
    confusion: dict[str, dict[str, int]]  # confusion[true_label][predicted_label]
    true_counts: dict[str, int]  # items per ground-truth label
    predicted_counts: dict[str, int]  # verdicts per label
    binary: dict[str, float | int | None]  # unethical vs not: tp/fp/fn/tn, precision, recall, f1, kappa, auroc
    accuracy: float  # 3-class agreement
    seconds: float  # wall time of the review call
    items: list[dict] = field(default_factory=list)  # per item: id, truth, label, p_unethical

    @property
    def auroc(self) -> float | None:
        return self.binary["auroc"]  # type: ignore[return-value]

    def by_kind(self) -> dict[str, dict[str, object]]:
        """Per item kind: its hand label, n, and how many the judge labelled unethical (recall for an
        unethical kind, the false-alarm count for an ethical one)."""
        out: dict[str, dict[str, object]] = {}
        for item in self.items:
            row = out.setdefault(item.get("kind") or "-", {"truth": item["truth"], "n": 0, "flagged": 0})
            row["n"] += 1
            row["flagged"] += item["label"] == "unethical"
        return dict(sorted(out.items()))

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(
    items: Sequence[LabelledItem], verdicts: Sequence[Verdict], *, framework: str, judge: str, evidence: bool,
    seconds: float = 0.0,
) -> JudgeEvalResult:
    """The confusion matrix and metrics of `verdicts` against the items' labels."""
    assert len(items) == len(verdicts), f"{len(items)} items but {len(verdicts)} verdicts"
    confusion = {t: {p: 0 for p in LABELS} for t in LABELS}
    for item, verdict in zip(items, verdicts):
        confusion[item.label][verdict.label] += 1
    return JudgeEvalResult(
        framework=framework,
        judge=judge,
        evidence=evidence,
        n=len(items),
        confusion=confusion,
        true_counts={t: sum(confusion[t].values()) for t in LABELS},
        predicted_counts={p: sum(confusion[t][p] for t in LABELS) for p in LABELS},
        binary=judge_metrics(verdicts, [item.label == "unethical" for item in items]),
        accuracy=sum(confusion[t][t] for t in LABELS) / len(items) if items else 0.0,
        seconds=seconds,
        items=[{"id": item.id, "truth": item.label, "label": v.label, "p_unethical": round(v.p_unethical, 6),
                "kind": item.kind} for item, v in zip(items, verdicts)],
    )


def evaluate_judge(judge: Judge, items: Sequence[LabelledItem]) -> JudgeEvalResult:
    """Review every item in one batch and score the verdicts against the hand labels.
    (Build the judge with `rewrite_on=()` when only the labels matter: rewrites cost generation.)"""
    start = time.perf_counter()
    verdicts = judge.review([item.review_item() for item in items])
    return summarize(
        items, verdicts, framework=judge.framework.name, judge=judge.kind,
        evidence=judge.uses_evidence,
        seconds=time.perf_counter() - start,
    )
