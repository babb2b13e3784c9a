"""The scenario's `controls:` section: the settings of the experiment's control arms (agentloop.arms)."""

from __future__ import annotations

from pydantic import Field

from agentloop.core.yaml_model import Strict

__all__ = ["ControlSettings"]


class ControlSettings(Strict):
    """Settings of the experiment's control arms (agentloop.arms), fixed on the dev split before a run."""

    kl_weight: float = Field(0.1, gt=0.0, description="the kl arm's weight of KL(policy || frozen copy) on the "
                                                       "round's task data")
