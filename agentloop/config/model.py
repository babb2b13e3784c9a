"""The scenario's `model:` section: the policy model and how it is served."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from agentloop.config.registered import registered
from agentloop.core.yaml_model import Strict

__all__ = ["ModelSettings"]


class ModelSettings(Strict):
    """The policy model and how it is served."""

    name: str = Field("embedded", description='"embedded" (the packaged SmolLM2-135M), an HF folder or hub id')
    backend: str = Field("vllm", description="engine backend: vllm | hf | openai | a plugin's (agentloop.engines)")
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="compute dtype of the engine and the learner; auto: bfloat16 on a CPU with "
                            "AMX-BF16/AVX512-BF16, float32 on other CPUs, the model's own on CUDA")
    base_url: list[str] = Field(default_factory=list, description="OpenAI-compatible server URLs (backend openai)")
    lora_mode: Literal["merge", "requests"] = Field(
        "merge", description="vllm: how the policy gets its adapter; merge: written into the weights (decodes at "
                             "base speed, one adapter at a time); requests: vLLM's LoRA path (several adapters in one "
                             "batch, as `agentloop experiment --cells together` can use; slower per token on CPU)")
    block_size: int | None = Field(
        None, ge=1, description="vllm: tokens per KV-cache block, the granularity at which prefixes are reused; "
                                "unset: 32 on CPU (the conscience's labels 2.4x faster than vLLM's 128, "
                                "bench/score_block_size.py), vLLM's own on GPU")
    max_tokens: int = Field(384, ge=1, le=32768, description="completion budget per agent turn")
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="sampling temperature of the policy")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="nucleus sampling mass")

    @field_validator("base_url", mode="before")
    @classmethod
    def _one_url_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from agentloop.engines import ENGINES

        return registered(ENGINES, value)
