"""Engines: one protocol (`Engine`), three backends, one factory.

    from agentloop.engines import make_engine
    engine = make_engine("vllm", "embedded")
"""

from __future__ import annotations

from agentloop.engines.base import Engine
from agentloop.engines.config import EngineConfig
from agentloop.errors import ConfigError

__all__ = ["BACKENDS", "Engine", "EngineConfig", "make_engine"]

BACKENDS = ("vllm", "hf", "openai")


def make_engine(backend: str = "vllm", model: str = "embedded", **options) -> Engine:
    """Build a backend; `model` 'embedded' is the packaged SmolLM2 (prepared on first use)."""
    from agentloop.model import resolve_model

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    config = EngineConfig(model=resolve_model(model), backend=backend, **options)
    if backend == "vllm":
        from agentloop.engines.vllm import VLLMEngine

        return VLLMEngine(config)
    if backend == "hf":
        from agentloop.engines.hf import HFEngine

        return HFEngine(config)
    from agentloop.engines.openai import OpenAIEngine

    return OpenAIEngine(config)
