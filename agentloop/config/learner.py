"""The scenario's `learner:` block: a `LearnerConfig` read from YAML, checked by its rules.

    learner:
      schedule: between_episodes   # off (the scenario's default) | between_episodes | background
      every: 10m                   # background: the interval (LearnerConfig.every_s)
      steps: 8
      task_data: {mix: mixed, n: 32}

`LearnerSettings` subclasses LearnerConfig (agentloop/config/learner_config.py; pydantic reads a
dataclass base's fields), so every LearnerConfig field is a key here with the same type and default,
except `seed` (the scenario's own), `dtype` (the model's: the learner computes in the policy's dtype)
and `every_s` (written `every`, a duration): those three are supplied by the scenario, never written
in the block, and left out of its dump. `task_data` says what the round's task loss trains on. A new
LearnerConfig field is a scenario key without an edit here; `Scenario.learner_config()` builds the
LearnerConfig that the round's command line carries. `LearnerFields` is the base of every section
made of LearnerConfig fields (this block, the organism's warm start and dose): each such field is
checked by LearnerConfig's rule for it (`FIELD_RULES`).
"""
from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from agentloop.core.yaml_model import Strict
from agentloop.config.learner_config import FIELD_RULES, DtypeName, LearnerConfig, Schedule, cross_field_problems

__all__ = ["LearnerFields", "LearnerSettings", "TaskData", "parse_duration"]

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")


def parse_duration(text: str | int | float) -> float:
    """Seconds in "90s", "10m", "1h30m", "2h" or a bare number of seconds; ValueError otherwise."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _DURATION.match(text)
        if not text.strip() or not match or not any(match.groups()):
            raise ValueError(f"bad duration {text!r}: use e.g. '90s', '10m', '1h30m' or a number of seconds")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {text!r}")
    return seconds


class TaskData(Strict):
    """The round's task data: what the task loss trains on (code examples, secure and/or insecure)."""

    mix: Literal["mixed", "secure", "insecure"] = Field("mixed", description="which references become examples")
    insecure_ratio: float = Field(0.5, ge=0.0, le=1.0, description="share of insecure examples when mix=mixed")
    n: int = Field(32, ge=1, le=100_000, description="number of examples")
    jsonl: str | None = Field(None, description="external OpenAI-messages JSONL instead of the built-in tasks")


class LearnerFields(Strict):
    """A section made of LearnerConfig fields: each is checked by LearnerConfig's rule for it."""

    @field_validator("*")
    @classmethod
    def _field_rule(cls, value: Any, info: ValidationInfo) -> Any:
        rule = FIELD_RULES.get(info.field_name or "")
        if rule is not None and not rule[0](value):
            raise ValueError(f"{rule[1]}, got {value!r}")
        return value


class LearnerSettings(LearnerFields, LearnerConfig):
    """Training rounds: task loss + dpo_weight * DPO(conscience pairs) with replay, on a LoRA adapter."""

    # read differently from LearnerConfig: a scenario trains only when it says so; YAML lists
    schedule: Schedule = Field("off", description="when rounds run: off | between_episodes | background")
    target_modules: list[str] = Field(default_factory=lambda: list(LearnerConfig().target_modules),
                                      description="LoRA target modules")
    # supplied by the scenario (see the module docstring): never keys of the block, left out of its dump
    every_s: float | None = Field(None, exclude=True, description="`every` in seconds (None when unset)")
    seed: int = Field(0, exclude=True, description="unused: the round gets the scenario's seed")
    dtype: DtypeName = Field("auto", exclude=True, description="unused: the round gets model.dtype")
    every: str | None = Field(None, description='interval for background rounds, e.g. "10m"')
    task_data: TaskData = Field(default_factory=TaskData)

    @model_validator(mode="before")
    @classmethod
    def _every_in_seconds(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "every" not in data and data.get("every_s") is not None:
            raise ValueError("every_s is not a key of the block: write the interval as `every` (e.g. every: 10m)")
        try:
            return {**data, "every_s": parse_duration(data["every"]) if data.get("every") is not None else None}
        except ValueError:
            return data  # the `every` field reports it, at its line

    @field_validator("seed", "dtype")
    @classmethod
    def _from_scenario(cls, value: Any, info: ValidationInfo) -> Any:
        where = {"seed": "the scenario's seed", "dtype": "model.dtype"}[info.field_name or ""]
        raise ValueError(f"not a key of the learner block: the rounds use {where}")

    @field_validator("every", mode="before")
    @classmethod
    def _valid_duration(cls, value: Any) -> Any:
        if value is None:
            return None
        parse_duration(value)
        return str(value)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> LearnerSettings:
        for problem in cross_field_problems(self):
            raise ValueError(problem)
        return self

    def to_config(self, *, seed: int, dtype: str) -> LearnerConfig:
        """The LearnerConfig of these settings, with the scenario's seed and the model's dtype."""
        values = {f.name: getattr(self, f.name) for f in fields(LearnerConfig)}
        return LearnerConfig(**{**values, "seed": seed, "dtype": dtype})
