"""The scenario's `learner:` block: `learner.config.LearnerConfig`'s fields, checked by its rules.

    learner:
      schedule: between_episodes   # off (the scenario's default) | between_episodes | background
      every: 10m                   # background: the interval (LearnerConfig.every_s)
      steps: 8
      task_data: {mix: mixed, n: 32}

Every LearnerConfig field is a key here with the same default and help text, except `seed` (the
scenario's own), `dtype` (the model's: the learner computes in the policy's dtype) and `every_s`
(written `every`, a duration). `task_data` says what the round's task loss trains on. A new
LearnerConfig field is a scenario key without an edit here; `Scenario.learner_config()` builds the
LearnerConfig that the round's command line carries.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from typing import Any, Literal, get_type_hints

from pydantic import Field, ValidationInfo, create_model, field_validator, model_validator

from agentloop.core.yaml_model import Strict
from learner.config import FIELD_RULES, LearnerConfig, cross_field_problems

__all__ = ["LearnerSettings", "TaskData", "parse_duration"]

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")
# LearnerConfig fields the scenario supplies from elsewhere (see the module docstring).
FROM_SCENARIO = frozenset({"seed", "dtype", "every_s"})
# Scenario-level defaults and YAML types that differ from LearnerConfig's.
_DEFAULTS: dict[str, Any] = {"schedule": "off"}  # a scenario trains only when it says so
_TYPES: dict[str, Any] = {"target_modules": list[str]}  # YAML lists; LearnerConfig keeps a tuple


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
    """The learner's task data: the fine-tuning pressure (code examples, secure and/or insecure)."""

    mix: Literal["mixed", "secure", "insecure"] = Field("mixed", description="which references become examples")
    insecure_ratio: float = Field(0.5, ge=0.0, le=1.0, description="share of insecure examples when mix=mixed")
    n: int = Field(32, ge=1, le=100_000, description="number of examples")
    jsonl: str | None = Field(None, description="external OpenAI-messages JSONL instead of the built-in tasks")


def _config_fields() -> dict[str, Any]:
    hints = get_type_hints(LearnerConfig)
    out: dict[str, Any] = {}
    for f in fields(LearnerConfig):
        if f.name in FROM_SCENARIO:
            continue
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        default = list(default) if isinstance(default, tuple) else default
        out[f.name] = (_TYPES.get(f.name, hints[f.name]),
                       Field(_DEFAULTS.get(f.name, default), description=f.metadata.get("help", "")))
    return out


_ConfigFields = create_model("_ConfigFields", __base__=Strict, **_config_fields())


class LearnerSettings(_ConfigFields):  # type: ignore[valid-type,misc]
    """Training rounds: task loss + dpo_weight * DPO(conscience pairs) with replay, on a LoRA adapter."""

    every: str | None = Field(None, description='interval for background rounds, e.g. "10m"')
    task_data: TaskData = Field(default_factory=TaskData)

    @field_validator("every", mode="before")
    @classmethod
    def _valid_duration(cls, value: Any) -> Any:
        if value is None:
            return None
        parse_duration(value)
        return str(value)

    @field_validator("*")
    @classmethod
    def _field_rule(cls, value: Any, info: ValidationInfo) -> Any:
        rule = FIELD_RULES.get(info.field_name or "")
        if rule is not None and not rule[0](value):
            raise ValueError(f"{rule[1]}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> LearnerSettings:
        for problem in cross_field_problems(self):
            raise ValueError(problem)
        return self

    @property
    def every_s(self) -> float | None:
        """`every` in seconds (None when unset)."""
        return parse_duration(self.every) if self.every is not None else None

    def to_config(self, *, seed: int, dtype: str) -> LearnerConfig:
        """The LearnerConfig of these settings, with the scenario's seed and the model's dtype."""
        values = self.model_dump(include=set(_ConfigFields.model_fields))
        return LearnerConfig(**values, seed=seed, dtype=dtype, every_s=self.every_s)
