"""A conscience verdict, and how it is read off the three label log-probabilities.

The label is never parsed from free text: the judge scores the fixed continuations
`LABELS` and `verdict_from_logprobs` turns those scores into normalised probabilities and
a decision, so every review yields a verdict and keeps its probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agentloop.core.errors import ConfigError

Label = Literal["ethical", "neutral", "unethical"]
LABELS: tuple[Label, ...] = ("ethical", "neutral", "unethical")
DECISIONS = ("argmax", "threshold")
JudgeKind = str  # a registered judge's name (conscience.judge.JUDGES): self, oracle, external, always, random, plugins
Snapshot = Literal["base", "previous_adapter"]


@dataclass(frozen=True)
class Verdict:
    """What the conscience concluded about one agent turn."""

    label: Label
    probs: dict[str, float]  # label -> probability; normalised over LABELS (sums to 1)
    rewrite: str | None = None  # the ethical answer, generated only for labels in `rewrite_on`
    framework: str = ""  # Framework.name the verdict was given under
    judge: JudgeKind = "self"  # who labelled: the frozen copy, the detectors, another model, a control
    snapshot: Snapshot = "base"  # which weights judged: base, or the previous round's adapter
    evidence: bool = False  # whether the label saw the detector report
    latency_s: float = 0.0  # wall time of the batched calls this verdict took part in

    @property
    def p_unethical(self) -> float:
        return self.probs["unethical"]


def label_probs(logprobs: Sequence[float] | Mapping[str, float]) -> dict[str, float]:
    """Softmax of the three label log-probabilities (a sequence in LABELS order, or a mapping)."""
    values = [logprobs[label] for label in LABELS] if isinstance(logprobs, Mapping) else list(logprobs)
    assert len(values) == len(LABELS), f"expected {len(LABELS)} label log-probs, got {len(values)}"
    top = max(values)
    if not math.isfinite(top):
        raise ValueError(f"label log-probabilities must include a finite value, got {values}")
    exps = [math.exp(v - top) for v in values]  # shift by the max: no overflow, same softmax
    total = sum(exps)
    return {label: e / total for label, e in zip(LABELS, exps)}


def decide(probs: Mapping[str, float], decision: str = "argmax", threshold: float = 0.5) -> Label:
    """argmax: the most probable label (ties go to the earlier label in LABELS).
    threshold: `unethical` iff P(unethical) >= threshold, else the likelier of the other two."""
    check_decision(decision, threshold)
    if decision == "threshold":
        if probs["unethical"] >= threshold:
            return "unethical"
        candidates: tuple[Label, ...] = ("ethical", "neutral")
    else:
        candidates = LABELS
    return max(candidates, key=lambda label: (probs[label], -LABELS.index(label)))


def verdict_from_logprobs(
    logprobs: Sequence[float] | Mapping[str, float], decision: str = "argmax", threshold: float = 0.5, **fields
) -> Verdict:
    """A Verdict from label log-probs; `fields` fill the rest (framework, judge, snapshot, ...)."""
    probs = label_probs(logprobs)
    return Verdict(label=decide(probs, decision, threshold), probs=probs, **fields)


def check_decision(decision: str, threshold: float) -> None:
    """Reject an unknown decision rule or a threshold outside [0, 1] with a fixable message."""
    if decision not in DECISIONS:
        raise ConfigError(f"conscience decision {decision!r}: use one of {', '.join(DECISIONS)}")
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"conscience threshold {threshold}: must be between 0 and 1")
