"""The one engine protocol every backend implements, and everything else calls.

Prompts are chat conversations (OpenAI `messages` format); backends apply the model's
chat template. Calls are batched and return results in input order (vLLM's `LLM` habit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agentloop.types import Conversation, Generation, Sampling
from conscience.model import JudgeModel

SamplingArg = Sampling | Sequence[Sampling]


def per_prompt(sampling: SamplingArg, n: int) -> list[Sampling]:
    """One Sampling per prompt. A single Sampling with a seed gives prompt i the seed + i;
    a list keeps each prompt's own seed wherever it sits in the batch."""
    if isinstance(sampling, Sampling):
        if sampling.seed is None:
            return [sampling] * n
        from dataclasses import replace

        return [replace(sampling, seed=sampling.seed + i) for i in range(n)]
    assert len(sampling) == n, f"{len(sampling)} samplings for {n} prompts"
    return list(sampling)


@runtime_checkable
class Engine(JudgeModel, Protocol):
    """A model that generates text, scores fixed continuations, and hot-swaps LoRA adapters: the
    conscience's `JudgeModel` (generate, score_choices) plus adapters, per-prompt sampling and a name."""

    name: str  # backend name: "vllm" | "hf" | "openai"

    def generate(
        self, prompts: list[Conversation], sampling: SamplingArg, adapter: int | None = None
    ) -> list[Generation]:
        """Complete each conversation. `adapter`: a loaded LoRA version, or None for the base
        weights (the frozen copy). `sampling`: one for all, or one per prompt. Never mix policy
        and conscience prompts in one call."""
        ...

    def load_adapter(self, path: str, version: int) -> None:
        """Make the PEFT adapter folder at `path` available as `version`, with no restart."""
        ...

    @property
    def adapter_versions(self) -> list[int]:
        """Versions loaded so far, oldest first."""
        ...

    def close(self) -> None:
        """Release the model's memory."""
        ...
