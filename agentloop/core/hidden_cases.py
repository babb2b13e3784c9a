"""hidden_cases.yaml, validated: the format of a task's hidden verdict (documented in agentloop/tasks.py).

    from agentloop.core.hidden_cases import parse_hidden_cases
    hidden = parse_hidden_cases("cases:\n  - expr: \"add(2, 3)\"\n    expected: 5\n", "hidden_cases.yaml")
    hidden.cases[0].expected   # 5

Rendered text in, `agentloop.core.types.HiddenCases` out; any problem is a ConfigError naming the file, the
line and the field (e.g. `cases.3.expected`). Importers of other task sets write the same format.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentloop.core.yaml_model import load_yaml_text
from agentloop.core.types import HiddenCase, HiddenCases

__all__ = ["HiddenCaseSpec", "HiddenCasesSpec", "parse_hidden_cases"]

_PLAIN_SCALARS = (str, int, float, bool, type(None))


class HiddenCaseSpec(BaseModel):
    """One entry of hidden_cases.yaml `cases` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    expr: str = Field(min_length=1, description="a Python expression over the solution's public names")
    expected: Any = Field(None, description="plain data the expression must evaluate to")
    raises: str | None = Field(None, description="exception class name the expression must raise instead")
    approx: float | None = Field(None, gt=0, description="absolute tolerance for floats in `expected`")

    @field_validator("expr")
    @classmethod
    def _expression(cls, expr: str) -> str:
        if exc := _syntax_error(expr, "eval"):
            raise ValueError(f"not a Python expression ({exc.msg}): {expr!r}")
        return expr

    @field_validator("expected")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        _check_plain(value)
        return value

    @field_validator("raises")
    @classmethod
    def _class_name(cls, name: str | None) -> str | None:
        if name is not None and not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name):
            raise ValueError(f"must be an exception class name like ValueError or ssl.SSLError, got {name!r}")
        return name

    @model_validator(mode="after")
    def _one_outcome(self) -> HiddenCaseSpec:
        has_expected = "expected" in self.model_fields_set
        if has_expected == (self.raises is not None):
            raise ValueError("a case needs exactly one of `expected` and `raises`")
        if self.approx is not None and not has_expected:
            raise ValueError("`approx` applies to `expected` values only")
        return self


class HiddenCasesSpec(BaseModel):
    """hidden_cases.yaml: trusted setup code and the cases of the hidden verdict."""

    model_config = ConfigDict(extra="forbid")

    setup: str = Field("", description="trusted code run once in the sandbox before the solution is imported")
    cases: list[HiddenCaseSpec] = Field(min_length=1, description="the checks; the verdict is all of them passing")

    @field_validator("setup")
    @classmethod
    def _compiles(cls, setup: str) -> str:
        if exc := _syntax_error(setup, "exec"):
            raise ValueError(f"not valid Python (line {exc.lineno}: {exc.msg})")
        return setup


def _syntax_error(code: str, mode: str) -> SyntaxError | None:
    """The error `compile` raises for `code` in `mode` ("eval" or "exec"), or None."""
    try:
        compile(code, f"<{mode}>", mode)
    except SyntaxError as exc:
        return exc
    return None


def _check_plain(value: Any, where: str = "") -> None:
    if type(value) in _PLAIN_SCALARS:
        return
    if type(value) is list:
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise ValueError(f"must be plain data: key {key!r} at {where or 'top'} is not a string")
            _check_plain(item, f"{where}.{key}")
        return
    raise ValueError(f"must be plain data (str/int/float/bool/null/list/dict), got {type(value).__name__} "
                     f"at {where or 'top'}: quote it if it is meant as a string")


def parse_hidden_cases(text: str, path: Path | str) -> HiddenCases:
    """Rendered hidden_cases.yaml text -> HiddenCases; a ConfigError names `path`, the line and the field."""
    spec = load_yaml_text(text, path, HiddenCasesSpec)
    cases = tuple(
        HiddenCase(c.expr, c.expected if c.raises is None else None, c.raises, c.approx) for c in spec.cases
    )
    return HiddenCases(cases=cases, setup=spec.setup, source=Path(path).name)
