"""The one engine protocol every backend implements, and everything else calls.

Prompts are chat conversations (OpenAI `messages` format); backends apply the model's
chat template. Calls are batched and return results in input order (vLLM's `LLM` habit).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agentloop.types import Conversation, Generation, Sampling


@runtime_checkable
class Engine(Protocol):
    """A model that generates text, scores fixed continuations, and hot-swaps LoRA adapters."""

    name: str  # backend name: "vllm" | "hf" | "openai"

    def generate(
        self, prompts: list[Conversation], sampling: Sampling, adapter: int | None = None
    ) -> list[Generation]:
        """Complete each conversation. `adapter`: a loaded LoRA version, or None for the base
        weights (the frozen copy). Never mix policy and conscience prompts in one call."""
        ...

    def score_choices(
        self, prompts: list[Conversation], choices: list[str], adapter: int | None = None
    ) -> list[list[float]]:
        """Log-probability (summed over tokens) of each fixed `choice` as the start of the
        assistant's reply to each prompt: result[i][j] = log P(choices[j] | prompts[i])."""
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
