"""The two model calls the conscience needs, as a structural Protocol.

The engines in `agentloop.engines` (vllm, hf, openai) satisfy it without importing this
module, so `conscience` stays free of `agentloop` (apart from the leaf types).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agentloop.types import Conversation, Generation, Sampling


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
        """Summed log-prob of each choice as the start of the assistant reply: result[i][j]."""
        ...
