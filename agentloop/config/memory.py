"""The scenario's `memory:` section: past episodes' lessons recalled into the prompt."""

from __future__ import annotations

from pydantic import Field

from agentloop.core.yaml_model import Strict

__all__ = ["MemorySettings"]


class MemorySettings(Strict):
    """Lessons of past episodes recalled into the prompt (store.search)."""

    k: int = Field(0, ge=0, le=64, description="past episodes' lessons recalled into the prompt (0 = off)")
