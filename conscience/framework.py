"""Ethical frameworks as data: principles plus the classify and rewrite prompt templates.

    from conscience.framework import load_framework
    fw = load_framework("three_laws")            # a built-in name ...
    fw = load_framework("my_framework.yaml")     # ... or a user YAML file with the same fields

A framework file has exactly the fields `name`, `title`, `principles` (a list of strings),
`classify_prompt` and `rewrite_prompt` (str.format templates: literal braces are doubled).
Anything else, or a template missing one of its placeholders, raises `ConfigError` naming the
file, the field and its line.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from agentloop.core.errors import ConfigError

BUILTIN_FRAMEWORKS: tuple[str, ...] = ("three_laws", "four_laws", "wwjd")

# Each template must use every placeholder of its set, and no other one.
CLASSIFY_PLACEHOLDERS = frozenset({"principles", "question", "reasoning", "answer", "evidence"})
REWRITE_PLACEHOLDERS = frozenset({"principles", "question", "answer"})
_TEMPLATES = {"classify_prompt": CLASSIFY_PLACEHOLDERS, "rewrite_prompt": REWRITE_PLACEHOLDERS}
_STRING_FIELDS = ("name", "title", "classify_prompt", "rewrite_prompt")
_FIELDS = (*_STRING_FIELDS, "principles")


@dataclass(frozen=True)
class Framework:
    """One ethical framework the conscience judges by."""

    name: str  # short id stored with every verdict, e.g. "three_laws"
    title: str  # human-readable title for reports
    principles: tuple[str, ...]  # the laws/principles, in priority order
    classify_prompt: str  # template: {principles} {question} {reasoning} {answer} {evidence}
    rewrite_prompt: str  # template: {principles} {question} {answer}
    source: str = "builtin"  # "builtin" or the YAML path it came from

    def principles_text(self) -> str:
        """The principles as a numbered list, the form the templates embed."""
        return "\n".join(f"{i}. {p}" for i, p in enumerate(self.principles, 1))


def load_framework(name_or_path: str | Path) -> Framework:
    """A built-in framework by name, or a user framework from a YAML file path."""
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_FRAMEWORKS:
        ref = resources.files("conscience") / "frameworks" / f"{name_or_path}.yaml"
        return _parse(ref.read_text(encoding="utf-8"), where=f"{name_or_path}.yaml", source="builtin")
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(
            f"unknown framework {str(name_or_path)!r}: use one of {', '.join(BUILTIN_FRAMEWORKS)} "
            "or the path of a framework YAML file"
        )
    return _parse(path.read_text(encoding="utf-8"), where=str(path), source=str(path))


def _parse(text: str, *, where: str, source: str) -> Framework:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a framework file must be a mapping with the fields {', '.join(_FIELDS)}")
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value} if isinstance(node, yaml.MappingNode) else {}

    def fail(field: str, problem: str) -> ConfigError:
        line = f" (line {lines[field]})" if field in lines else ""
        return ConfigError(f"{where}{line}: field {field!r}: {problem}")

    for key in data:
        if key not in _FIELDS:
            raise fail(str(key), f"unknown field; allowed fields are {', '.join(_FIELDS)}")
    for field in _FIELDS:
        if field not in data:
            raise ConfigError(f"{where}: field {field!r}: missing (required: {', '.join(_FIELDS)})")
    for field in _STRING_FIELDS:
        if not isinstance(data[field], str) or not data[field].strip():
            raise fail(field, f"must be a non-empty string, got {type(data[field]).__name__}")
    principles = data["principles"]
    if not isinstance(principles, list) or not principles or not all(isinstance(p, str) and p.strip() for p in principles):
        raise fail("principles", "must be a non-empty list of non-empty strings")
    for field, wanted in _TEMPLATES.items():
        used = _placeholders(data[field], fail=lambda problem, f=field: fail(f, problem))
        if missing := wanted - used:
            raise fail(field, f"placeholder missing from the template: {', '.join('{' + m + '}' for m in sorted(missing))}")
        if unknown := used - wanted:
            raise fail(field, f"unknown placeholder {', '.join('{' + u + '}' for u in sorted(unknown))} "
                              f"(allowed: {', '.join('{' + w + '}' for w in sorted(wanted))}; write literal braces as {{{{ }}}})")
    return Framework(
        name=data["name"].strip(), title=data["title"].strip(), principles=tuple(p.strip() for p in principles),
        classify_prompt=data["classify_prompt"], rewrite_prompt=data["rewrite_prompt"], source=source,
    )


def _placeholders(template: str, *, fail) -> set[str]:
    """The field names a str.format template uses; a malformed template is a config error."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise fail(f"not a valid template ({exc}); write literal braces as {{{{ }}}}") from None
    if "" in names or any(not n.isidentifier() for n in names):
        raise fail("placeholders must be names like {question}; write literal braces as {{ }}")
    return names
