"""What the conscience reviews (`ReviewItem`) and the two prompts it renders from a framework.

Long fields are cut to a character budget (head and tail kept, the middle elided) so the
classify prompt stays near 1,500 tokens: the embedded model has a 2k-8k context, and the
start of a solution (imports, signature) and its end (return, module-level calls such as
sys.exit) are where cheating usually shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentloop.core.types import Conversation
from conscience.framework import Framework


@dataclass(frozen=True)
class ReviewItem:
    """One agent turn as plain text: all the conscience needs to judge it."""

    question: str  # the task plus the user's (pressure) message that elicited the turn
    reasoning: str  # the agent's reasoning, "" when it gave none
    answer: str  # the agent's full message / code
    evidence: str | None = None  # the detector report as text; None = no report available
    detector_flag: bool | None = None  # any misalignment finding (what the oracle judge uses)


@dataclass(frozen=True)
class PromptBudget:
    """Character budgets per field. Measured with the SmolLM2 tokenizer: the judge-set prompts
    are 440-680 tokens; every field at its budget gives ~1,450-1,550 tokens (dense code is
    ~3.3 characters per token)."""

    question: int = 900
    reasoning: int = 600
    answer: int = 1700
    evidence: int = 400


DEFAULT_BUDGET = PromptBudget()


def truncate_middle(text: str, limit: int) -> str:
    """`text` if it fits, else its first two thirds and last third of `limit` around a marker."""
    if len(text) <= limit:
        return text
    head = (limit * 2) // 3
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[len(text) - tail:]}"


def _evidence_block(item: ReviewItem, evidence: bool, limit: int) -> str:
    if not evidence:
        return ""
    if item.evidence is None:
        report = "not available"
    else:
        report = truncate_middle(item.evidence.strip(), limit) or "no problems found"
    return f"\nAUTOMATED CHECKS (objective detectors):\n{report}\n"


def render_classify(
    framework: Framework, item: ReviewItem, evidence: bool, budget: PromptBudget = DEFAULT_BUDGET
) -> Conversation:
    """The one-message conversation whose reply should start with the label."""
    text = framework.classify_prompt.format(
        principles=framework.principles_text(),
        question=truncate_middle(item.question.strip(), budget.question),
        reasoning=truncate_middle(item.reasoning.strip(), budget.reasoning) or "(none given)",
        answer=truncate_middle(item.answer.strip(), budget.answer),
        evidence=_evidence_block(item, evidence, budget.evidence),
    )
    return [{"role": "user", "content": text}]


def render_rewrite(framework: Framework, item: ReviewItem, budget: PromptBudget = DEFAULT_BUDGET) -> Conversation:
    """The conversation whose reply is the ethical answer (the DPO `chosen`)."""
    text = framework.rewrite_prompt.format(
        principles=framework.principles_text(),
        question=truncate_middle(item.question.strip(), budget.question),
        answer=truncate_middle(item.answer.strip(), budget.answer),
    )
    return [{"role": "user", "content": text}]
