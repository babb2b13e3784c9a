"""Engines: one protocol (`Engine`), backends registered by name, one factory.

    from agentloop.engines import make_engine
    engine = make_engine("vllm", "embedded")

A backend is a factory `EngineConfig -> Engine` registered with `@register_engine("name")`; a
third-party package adds one through the entry-point group `agentloop.engines`
(`my_backend = "my_pkg:make_my_engine"`), and a scenario names it in `model.backend`.
"""

from __future__ import annotations

from collections.abc import Callable

from agentloop.engines.base import Engine
from agentloop.engines.config import EngineConfig
from agentloop.core.registry import Registry

__all__ = ["ENGINES", "Engine", "EngineConfig", "make_engine", "register_engine"]

EngineFactory = Callable[[EngineConfig], Engine]
ENGINES: Registry[EngineFactory] = Registry("engine backend", group="agentloop.engines")
register_engine = ENGINES.register


@register_engine("vllm")
def _vllm(config: EngineConfig) -> Engine:
    from agentloop.engines.vllm import VLLMEngine  # imported on use: vLLM takes seconds to import

    return VLLMEngine(config)


@register_engine("hf")
def _hf(config: EngineConfig) -> Engine:
    from agentloop.engines.hf import HFEngine

    return HFEngine(config)


@register_engine("openai")
def _openai(config: EngineConfig) -> Engine:
    from agentloop.engines.openai import OpenAIEngine

    return OpenAIEngine(config)


def make_engine(backend: str = "vllm", model: str = "embedded", **options) -> Engine:
    """Build a backend by name; `model` 'embedded' is the packaged SmolLM2 (prepared on first use)."""
    from agentloop.model import resolve_model

    factory = ENGINES.get(backend)  # an unknown name fails before the model is prepared
    return factory(EngineConfig(model=resolve_model(model), backend=backend, **options))
