"""Names a section checks against a registry (engines, judges, sandboxes: built-ins and installed plugins)."""

from __future__ import annotations

from typing import Any

from agentloop.core.registry import Registry

__all__ = ["registered"]


def registered(registry: Registry[Any], name: str) -> str:
    """`name` if the registry (built-ins and installed plugins) knows it; a plugin that fails to load says so."""
    if name not in registry.names():
        raise ValueError(f"unknown {registry.kind} {name!r}; use one of {', '.join(registry.names())}")
    return name
