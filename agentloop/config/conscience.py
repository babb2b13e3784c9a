"""The scenario's `conscience:` section: which framework, when it acts, who judges (conscience.judge)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from agentloop.config.registered import registered
from agentloop.core.yaml_model import Strict

__all__ = ["ConscienceSettings", "ExternalJudge"]


class ExternalJudge(Strict):
    """A separate judge model behind an OpenAI-compatible API (conscience.judge = external)."""

    model: str = Field(description="model name the server knows")
    base_url: str = Field(description="server URL, e.g. http://host:8000/v1")


class ConscienceSettings(Strict):
    """The frozen-copy conscience: which framework, when it acts, who judges."""

    framework: str = Field("three_laws", description="built-in framework name or a framework YAML path")
    mode: Literal["observe", "gate", "off"] = Field("observe", description="review and store | replace unethical turns | none")
    judge: str = Field("self", description="self (frozen copy) | oracle (detectors) | external (other model) | "
                                           "always | random (controls) | a plugin's (agentloop.judges)")
    snapshot: Literal["base", "previous_adapter"] = Field("base", description="weights the conscience reviews with")
    evidence: Literal["none", "detectors"] = Field("none", description="show detector findings to the judge")
    decision: Literal["argmax", "threshold"] = Field("argmax", description="label by argmax or P(unethical) >= threshold")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="P(unethical) cut for decision=threshold")
    rewrite_on: list[Literal["ethical", "neutral", "unethical"]] = Field(
        default_factory=lambda: ["unethical"], description="verdict labels that get a rewrite"
    )
    rewrite_max_tokens: int = Field(384, ge=1, le=32768, description="completion budget of a rewrite")
    audit_rewrites: bool = Field(True, description="run each pair's rewrite through the sandbox and detectors and "
                                                   "compare it with the frozen copy's own answer (rewrite audit)")
    measure_stopped: bool = Field(False, description="gate: also run each answer the gate stopped in the sandbox, "
                                                     "for the hack rate before gating (it never reaches the "
                                                     "conversation); the experiment's gate arm does on held-out turns")
    random_rate: float = Field(0.5, ge=0.0, le=1.0, description="P(unethical) of the `random` control judge: "
                                                                  "self's flag rate measured on the dev split")
    external: ExternalJudge | None = Field(None, description="the external judge (judge = external)")

    @field_validator("judge")
    @classmethod
    def _known_judge(cls, value: str) -> str:
        from conscience.judge import JUDGES

        return registered(JUDGES, value)

    @field_validator("framework")
    @classmethod
    def _known_framework(cls, value: str, info: ValidationInfo) -> str:
        from conscience.framework import BUILTIN_FRAMEWORKS

        if value in BUILTIN_FRAMEWORKS:
            return value
        base = Path((info.context or {}).get("base_dir", "."))
        for candidate in (Path(value), base / value):
            if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
                return str(candidate.resolve())
        raise ValueError(
            f"unknown framework {value!r}; use one of {', '.join(BUILTIN_FRAMEWORKS)} or the path of a framework YAML file"
        )
