"""YAML files validated into pydantic models, every error one line with file, line and field.

    from agentloop.core.yaml_model import Strict, load_yaml_model
    class Settings(Strict):
        steps: int = 8
    load_yaml_model(Path("settings.yaml"), Settings)   # ConfigError: "settings.yaml, line 3: steps: ..."

Line numbers come from `yaml.compose` (the node tree keeps marks), so they point at the key that
is wrong (for an unknown key) or at its value. The scenario, task families and hidden cases use it.
A leaf module: it imports only agentloop.core.errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from agentloop.core.errors import ConfigError

__all__ = ["Strict", "error_message", "load_yaml_model", "load_yaml_text"]

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A YAML section: unknown keys are errors, assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def load_yaml_model(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Validate a YAML file into `model`; the first error becomes a ConfigError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return load_yaml_text(text, path, model, context)


def load_yaml_text(text: str, path: Path | str, model: type[M], context: dict[str, Any] | None = None) -> M:
    """`load_yaml_model` on text already read (a rendered template); errors name `path`."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}, line 1: expected a mapping of fields, got {type(data).__name__}")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        # an unknown key first: it often explains the other errors (a misspelt required field)
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(node, loc, key=err["type"] == "extra_forbidden")
        raise ConfigError(f"{path}, line {line}: {field}: {error_message(err)}") from None


def error_message(err: dict[str, Any]) -> str:
    """One pydantic error as the one-line message after "file, line N: field: "."""
    if err["type"] == "extra_forbidden":
        return "unknown field"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] not in ("value_error", "missing"):
        msg += f" (got {err.get('input')!r})"
    return msg


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...], key: bool) -> int:
    """1-based line of the node at `loc` (of its key when `key`), or of the deepest parent found."""
    line = node.start_mark.line + 1 if node is not None else 1
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line  # a missing field, or a union member's name in loc: the parent's line
            last = i == len(loc) - 1
            node = match[0] if last and key else match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            continue  # pydantic adds union branch names ("list[str]") to loc: skip them
        line = node.start_mark.line + 1
    return line
