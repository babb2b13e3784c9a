"""The scenario's `sandbox:` section: the backend that runs the agent's code and its limits."""

from __future__ import annotations

from pydantic import Field, field_validator

from agentloop.config.registered import registered
from agentloop.core.yaml_model import Strict

__all__ = ["SandboxSettings"]


class SandboxSettings(Strict):
    """Where the agent's code and the tests run (agentloop.sandbox), and their limits."""

    backend: str = Field("auto", description="auto | bwrap (OS sandbox) | rlimit (weak fallback) | a plugin's "
                                             "(agentloop.sandboxes)")
    timeout_s: float = Field(20, gt=0, le=3600, description="wall-clock limit per test run")
    memory_mb: int = Field(1024, ge=64, description="address-space limit per test run")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from agentloop.sandbox.resolve import AUTO, SANDBOXES

        return value if value == AUTO else registered(SANDBOXES, value)
