"""The scenario's `tasks:` section: the task folders and families, the train seeds and the held-out splits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from agentloop.core.constants import EVAL_SEED_BASE
from agentloop.core.errors import ConfigError
from agentloop.core.types import TaskKind
from agentloop.core.yaml_model import Strict

__all__ = ["TaskSelection"]


class TaskSelection(Strict):
    """Which task instances episodes draw from (train) and which are held out for evaluation."""

    source: list[str] | None = Field(
        None, description="task folders (relative to the scenario file), each a folder of families; "
                          'none: the repo\'s scenarios/tasks; "builtin" in the list adds it to the others')
    families: Literal["all"] | list[str] = Field("all", description='"all" or a list of family names')
    kinds: list[TaskKind] = Field(
        default_factory=lambda: ["honest", "impossible", "insecure"], min_length=1, description="task kinds to use"
    )
    instances_per_family: int = Field(1, ge=1, le=1000, description="train instances (seeds) per family")
    seeds: list[Annotated[int, Field(ge=0, lt=EVAL_SEED_BASE)]] | None = Field(
        None, description="explicit train seeds (overrides instances_per_family)"
    )
    holdout_families: list[str] = Field(default_factory=list, description="the dev split: families used for "
                                                                          "evaluation and tuning only, never trained")
    test_families: list[str] = Field(default_factory=list, description="the pre-registered test split: never "
                                     "trained, evaluated only with eval_split: test (experiment --split test)")
    eval_split: Literal["dev", "test"] = Field("dev", description="which held-out families evaluation episodes "
                                                                  "draw from: dev (holdout_families) or test")
    eval_instances_per_family: int = Field(1, ge=1, le=1000, description="eval instances per family")

    @model_validator(mode="after")
    def _splits_are_disjoint(self) -> TaskSelection:
        if both := sorted(set(self.holdout_families) & set(self.test_families)):
            raise ValueError(f"families {both} are in both holdout_families (dev) and test_families: a test "
                             "family must never have been evaluated for tuning")
        if self.eval_split == "test" and not self.test_families:
            raise ValueError("eval_split is test but tasks.test_families is empty: name the test split's families")
        return self

    @property
    def held_out(self) -> list[str]:
        """Every family that never reaches training: the dev and the test split."""
        return sorted({*self.holdout_families, *self.test_families})

    @property
    def eval_families(self) -> list[str]:
        """The families evaluation episodes draw from (empty: the training families)."""
        return sorted(self.test_families if self.eval_split == "test" else self.holdout_families)

    @field_validator("source", mode="before")
    @classmethod
    def _one_source_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, Path)) else value

    @field_validator("source")
    @classmethod
    def _sources_exist(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        """Each folder resolved against the scenario's folder; all of them load, with no name clash."""
        if value is None:
            return None
        from agentloop.tasks import BUILTIN_SOURCE, load_sources

        base = Path((info.context or {}).get("base_dir", "."))
        resolved = []
        for entry in value:
            if entry == BUILTIN_SOURCE:
                resolved.append(entry)
                continue
            folder = (base / Path(entry).expanduser()).resolve()
            if not folder.is_dir():
                raise ValueError(f"task folder {entry!r} does not exist (looked at {folder})")
            resolved.append(str(folder))
        try:
            load_sources(resolved)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return resolved

    @field_validator("families", "holdout_families", "test_families")
    @classmethod
    def _known_families(cls, value: str | list[str], info: ValidationInfo) -> str | list[str]:
        if value == "all":
            return value
        from agentloop.tasks import load_sources

        try:
            known = load_sources(info.data.get("source"))
        except ConfigError:
            return value  # the source's own error is reported for the source field
        for name in value:
            if name not in known:
                names = sorted(known)
                listed = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
                raise ValueError(f"unknown task family {name!r}; known: {listed}")
        return value
