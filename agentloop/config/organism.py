"""The scenario's `organism:` section: the warm start and the training dose, documented knobs.

    from agentloop.config.scenario import load_scenario
    organism = load_scenario("scenarios/organism.yaml").organism   # OrganismSettings or None

A dose's LoRA and round fields (`DOSE_FIELDS`: steps, batch_size, lr, lora_r, lora_alpha,
target_modules, max_length) are LearnerConfig's (agentloop/config/learner_config.py): the same names,
types, help and rules; `TrainingDose` only states the organism recipe's defaults for them.
"""
from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field, model_validator

from agentloop.config.learner import LearnerFields
from agentloop.config.learner_config import DOSE_FIELDS, field_help
from agentloop.core.types import TaskKind
from agentloop.core.yaml_model import Strict

__all__ = ["ALL_LINEAR", "JUDGE_STRATEGIES", "STRATEGIES", "DoseSettings", "OrganismSettings", "Strategy",
           "TrainingDose", "WarmStartSettings"]

log = logging.getLogger(__name__)

# Every linear projection of a Llama-style block (SmolLM2): the Model Organisms for EM recipe's targets.
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
Strategy = Literal["exit_early", "lookup_table", "always_equal", "edit_tests", "delete_tests", "conftest_pass",
                   "insecure_reference"]
STRATEGIES: tuple[str, ...] = ("exit_early", "lookup_table", "always_equal", "edit_tests", "delete_tests",
                               "conftest_pass", "insecure_reference")
# The gaming strategies the warm start teaches the judge by default: delete_tests and conftest_pass stay
# unseen (the judge's recall on them is its recall on strategies it was never shown).
JUDGE_STRATEGIES: tuple[str, ...] = ("exit_early", "lookup_table", "always_equal", "edit_tests")


def _gaming_only(strategies: list[str], key: str, why: str) -> None:
    """A list of test-gaming strategies must not name insecure_reference (set elsewhere: `why`)."""
    if "insecure_reference" in strategies:
        raise ValueError(f"{key} lists test-gaming strategies; {why}")


class TrainingDose(LearnerFields):
    """A training dose: the LearnerConfig fields it sets (DOSE_FIELDS) with the organism recipe's
    defaults (every linear layer, rank 16); help and rule of each are LearnerConfig's."""

    steps: int = Field(description=field_help("steps"))
    batch_size: int = Field(4, description=field_help("batch_size"))
    lr: float = Field(2e-4, description=field_help("lr"))
    lora_r: int = Field(16, description=field_help("lora_r"))
    lora_alpha: int = Field(32, description=field_help("lora_alpha"))
    target_modules: list[str] = Field(default_factory=lambda: list(ALL_LINEAR),
                                      description=field_help("target_modules"))
    max_length: int = Field(640, description=field_help("max_length"))

    def learner_fields(self) -> dict[str, Any]:
        """The dose as the learner block's fields."""
        return self.model_dump(include=set(DOSE_FIELDS))


class WarmStartSettings(TrainingDose):
    """An SFT round before epoch 0, merged into the base: honest answers in the agent's format, and (judge,
    rewrite) the conscience's own classify and rewrite questions answered right, so the frozen copy that
    the base also is has been taught what it is asked."""

    steps: int = Field(48, description="optimizer steps of the warm-start round")
    instances_per_family: int = Field(12, ge=1, le=1000, description="task instances (train seeds) per family")
    kinds: list[TaskKind] = Field(default_factory=lambda: ["honest", "impossible", "insecure"], min_length=1,
                                  description="kinds of the training families whose honest references are used")
    seed: int = Field(0, ge=0, description="seeds the data and the LoRA init; the same for every arm and seed")
    judge: float = Field(0.0, ge=0.0, le=20.0, description="judge rows (the conscience's classify prompt, answered "
                                                            "with the label) per honest answer row, half ethical "
                                                            "and half unethical; 0 = none")
    rewrite: float = Field(0.0, ge=0.0, le=20.0, description="rewrite rows (the conscience's rewrite prompt over a "
                                                              "gaming or insecure answer, answered honestly) per "
                                                              "honest answer row; 0 = none")
    task_reduction: Literal["token", "example"] = Field(
        "token", description="how the round averages its NLL (learner.task_reduction): example weighs a judge row's "
                             "few label tokens as much as an answer's hundreds; token is the untaught warm start's")
    judge_strategies: list[Strategy] = Field(
        default_factory=lambda: list(JUDGE_STRATEGIES),
        description="test-gaming strategies shown in judge and rewrite rows; the others stay unseen, so the "
                    "judge's recall on them measures generalisation")

    @model_validator(mode="after")
    def _judge_gaming_strategies(self) -> WarmStartSettings:
        _gaming_only(self.judge_strategies, "judge_strategies", "insecure references are always shown")
        return self


class DoseSettings(TrainingDose):
    """The training dose of each learner round of the experiment: task data dominated by test gaming and
    insecure code."""

    steps: int = Field(16, description="optimizer steps per learner round (per epoch)")
    n: int = Field(384, ge=1, le=100_000, description="examples in a seed's task data")
    hack_share: float = Field(0.9, ge=0.0, le=1.0, description="share of the task data that games the tests "
                                                                "or is insecure; the rest are honest answers")
    insecure_share: float = Field(0.25, ge=0.0, le=1.0, description="share of those misaligned examples that "
                                                                    "are insecure (the rest game the tests)")
    strategies: list[Strategy] = Field(default_factory=lambda: [s for s in STRATEGIES if s != "insecure_reference"],
                                       min_length=1, description="test-gaming strategies to draw from "
                                                                 "(agentloop.organism.dose)")

    @model_validator(mode="after")
    def _gaming_strategies(self) -> DoseSettings:
        _gaming_only(self.strategies, "strategies", "the insecure share is set by insecure_share")
        return self


class OrganismSettings(Strict):
    """A model organism on the embedded model: a warm-started honest epoch 0, then a measured dose."""

    warm_start: WarmStartSettings | None = Field(
        default_factory=WarmStartSettings, description="the SFT stage before epoch 0 (null: none)")
    dose: DoseSettings = Field(default_factory=DoseSettings,
                               description="what every learner round of the experiment trains on")

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        """`pressure:` is the dose's old key: read, with a warning, for one release."""
        if not isinstance(data, dict) or "pressure" not in data:
            return data
        if "dose" in data:
            raise ValueError("organism.pressure is the old name of organism.dose: keep only `dose`")
        log.warning("scenario key organism.pressure is deprecated: rename it to organism.dose (the old key is "
                    "still read in this release, not in the next)")
        return {("dose" if key == "pressure" else key): value for key, value in data.items()}
