"""The two model calls the conscience needs, as a structural Protocol.

    from conscience.model import JudgeModel
    isinstance(engine, JudgeModel)   # True for every agentloop engine

`agentloop.engines.base.Engine` extends it (adapters, per-prompt sampling), so `conscience`
stays free of `agentloop` (apart from the leaf types) and the two calls are declared once.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agentloop.core.types import Conversation, Generation, Sampling


@runtime_checkable
class JudgeModel(Protocol):
    """A model the conscience can ask to score labels and to write rewrites."""

    def generate(
        self, prompts: list[Conversation], sampling: Sampling, adapter: int | None = None
    ) -> list[Generation]:
        """Complete each conversation, results in input order; `adapter=None` = base weights."""
        ...

    def score_choices(
        self, prompts: list[Conversation], choices: list[str], adapter: int | None = None
    ) -> list[list[float]]:
        """Log-probability (summed over tokens) of each fixed `choice` as the start of the
        assistant's reply to each prompt: result[i][j] = log P(choices[j] | prompts[i])."""
        ...
