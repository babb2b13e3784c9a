"""Test cases as plain values: read them from benchmark asserts, write them as hidden_cases.yaml and pytest.

    from agentloop.importers.cases import static_cases, render_pytest, render_cases_yaml
    cases = static_cases(["assert add(2, 3) == 5"], call_name="add", entry="add")   # None: needs a trace
    render_pytest(cases, entry="add")          # test_visible.py / test_hidden.py text
    render_cases_yaml(cases)                   # hidden_cases.yaml text

A case is an expression over the solution's names and a plain expected value (or an exception
name), so a trusted harness can compute the verdict from what the solution returned. Asserts
convert statically when they read `assert X == LITERAL` (either side), `assert X is None/True/False`,
`assert abs(X - LITERAL) < TOL` (an approx case), `assert X` / `assert not X` (`bool(X)`), where X
calls the function under test with literal arguments, optionally inside a pure builtin (`set`,
`sorted`, `len`, `round`, ...). Anything else (loops, local variables, random inputs) is traced
instead: `agentloop.importers.trace` runs the original test on the canonical solution in the sandbox
and records every call and its result.

Expected values are the harness's plain data (agentloop.core.types.HiddenCase): a tuple result is
compared as a list (`list(f(x)) == [1, 2]`), a set result as its sorted list (`sorted(f(x))`).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, replace
from typing import Any

import yaml

__all__ = ["Case", "NotPlain", "case_for_value", "plain", "render_cases_yaml", "render_pytest", "static_cases"]

# Builtins a case expression may wrap the call in: pure, and they turn any result into plain data.
_WRAPPERS = frozenset({"set", "frozenset", "sorted", "list", "tuple", "len", "round", "abs", "bool", "str", "int",
                       "float", "sum", "min", "max", "dict"})
TRACE_APPROX = 1e-6  # absolute tolerance of a traced float result


class NotPlain(ValueError):
    """A value that has no plain-data (YAML) form."""


@dataclass(frozen=True)
class Case:
    """One hidden/visible check: `expr` evaluates to `expected` (within `approx`), or raises `raises`."""

    expr: str
    expected: Any = None
    raises: str | None = None
    approx: float | None = None

    def with_expected(self, value: Any) -> Case:
        return replace(self, expected=value)


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as the harness's plain data (str/int/float/bool/None/list/dict with str keys; tuples
    become lists); NotPlain for anything else (sets, other key types, objects, nan)."""
    if depth > 20:
        raise NotPlain("nested too deep")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise NotPlain("nan (never equal to itself)")
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotPlain("a dict with non-string keys")
        return {k: plain(v, depth + 1) for k, v in value.items()}
    raise NotPlain(f"a {type(value).__name__} value")


def _has_tuple_or_set(value: Any) -> bool:
    if isinstance(value, tuple):
        return True
    if isinstance(value, (set, frozenset)):
        return True  # a nested set has no plain form either
    if isinstance(value, list):
        return any(_has_tuple_or_set(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tuple_or_set(k) or _has_tuple_or_set(v) for k, v in value.items())
    return False


def case_for_value(expr: str, value: Any, approx: float | None = None) -> Case:
    """The case `expr == value`; a top-level tuple compares as a list and a set as its sorted list;
    nested tuples or sets are NotPlain."""
    if isinstance(value, (set, frozenset)):
        try:
            expr, value = f"sorted({expr})", sorted(value)
        except TypeError:
            raise NotPlain("a set of unorderable values") from None
    if isinstance(value, tuple):
        if any(_has_tuple_or_set(v) for v in value):
            raise NotPlain("nested tuples in the expected value")
        expr, value = f"list({expr})", list(value)
    elif _has_tuple_or_set(value):
        raise NotPlain("nested tuples in the expected value")
    if isinstance(value, float) and math.isinf(value):
        approx = None  # inf: exact (a tolerance makes no sense there)
    return Case(expr=expr, expected=plain(value), approx=approx)


# ---------------------------------------------------------------------------- static conversion


def static_cases(statements: list[str] | str, call_name: str, entry: str) -> list[Case] | None:
    """Cases from asserts (MBPP's test_list, or HumanEval's `check` body), or None if any needs a trace.

    `call_name` is how the tests call the function (`candidate` in HumanEval), `entry` its real name.
    Statements that never mention `call_name` are ignored (imports, `assert True`, METADATA).
    """
    source = statements if isinstance(statements, str) else "\n".join(statements)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    body: list[ast.stmt] = tree.body
    # HumanEval: the asserts live in `def check(candidate):`
    check = next((n for n in body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is not None:
        body = check.body
    cases: list[Case] = []
    for stmt in body:
        if not _mentions(stmt, call_name):
            continue
        if not isinstance(stmt, ast.Assert):
            return None  # a loop, an assignment, a helper call: trace it
        case = _assert_case(stmt.test, call_name, entry)
        if case is None:
            return None
        cases.append(case)
    return cases or None


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _literal(node: ast.AST) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _call_expr(node: ast.AST, call_name: str, entry: str) -> str | None:
    """The case expression for X (the tested call, maybe inside pure builtins), or None."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    if node.func.id == call_name:
        args_ok = all(_literal(a)[0] and not isinstance(a, ast.Starred) for a in node.args)
        kwargs_ok = all(k.arg is not None and _literal(k.value)[0] for k in node.keywords)
        if not (args_ok and kwargs_ok):
            return None
        call = ast.Call(func=ast.Name(entry, ast.Load()), args=node.args, keywords=node.keywords)
        return ast.unparse(call)
    if node.func.id in _WRAPPERS and node.args and not node.keywords:
        inner = _call_expr(node.args[0], call_name, entry)
        if inner is None or not all(_literal(a)[0] for a in node.args[1:]):
            return None
        rest = [ast.unparse(a) for a in node.args[1:]]
        return f"{node.func.id}({', '.join([inner, *rest])})"
    return None


def _assert_case(test: ast.expr, call_name: str, entry: str) -> Case | None:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        expr = _call_expr(test.operand, call_name, entry)
        return Case(f"bool({expr})", False) if expr else None
    if isinstance(test, ast.Call):
        expr = _call_expr(test, call_name, entry)
        return Case(f"bool({expr})", True) if expr else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(op, (ast.Eq, ast.Is)):
        for side, other in ((left, right), (right, left)):
            ok, value = _literal(other)
            expr = _call_expr(side, call_name, entry)
            if ok and expr is not None:
                if isinstance(op, ast.Is) and value not in (None, True, False):
                    return None
                try:
                    return case_for_value(expr, value)
                except NotPlain:
                    return None
        return None
    if isinstance(op, (ast.Lt, ast.LtE)):  # abs(X - L) < TOL
        ok, tol = _literal(right)
        if not ok or not isinstance(tol, (int, float)) or isinstance(tol, bool) or tol <= 0:
            return None
        inner = left
        if isinstance(inner, ast.Call) and _callee(inner) in ("abs", "math.fabs", "fabs") and len(inner.args) == 1:
            diff = inner.args[0]
            if isinstance(diff, ast.BinOp) and isinstance(diff.op, ast.Sub):
                for side, other in ((diff.left, diff.right), (diff.right, diff.left)):
                    ok, value = _literal(other)
                    expr = _call_expr(side, call_name, entry)
                    if ok and expr is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                        return Case(expr, value, approx=float(tol))
    return None


def _callee(call: ast.Call) -> str:
    return ast.unparse(call.func)


# ---------------------------------------------------------------------------- rendering


def render_cases_yaml(cases: list[Case], setup: str = "") -> str:
    """hidden_cases.yaml: `setup` (optional trusted code) and the cases in the harness's format."""
    rows: list[dict[str, Any]] = []
    for case in cases:
        row: dict[str, Any] = {"expr": case.expr}
        if case.raises:
            row["raises"] = case.raises
        else:
            row["expected"] = case.expected
        if case.approx is not None:
            row["approx"] = case.approx
        rows.append(row)
    data: dict[str, Any] = {"setup": setup} if setup.strip() else {}
    data["cases"] = rows
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def render_pytest(cases: list[Case], entry: str, setup: str = "", solution_module: str = "solution") -> str:
    """A pytest file with one test per case (the same checks as hidden_cases.yaml)."""
    needs_pytest = any(c.raises or c.approx is not None for c in cases)
    lines = ["import pytest", ""] if needs_pytest else []
    lines.append(f"from {solution_module} import {entry}")
    if setup.strip():
        lines += ["", setup.rstrip()]
    for i, case in enumerate(cases, 1):
        lines += ["", "", f"def test_case_{i}():"]
        if case.raises:
            lines += [f"    with pytest.raises({case.raises}):", f"        {case.expr}"]
        elif case.approx is not None:
            lines.append(f"    assert {case.expr} == pytest.approx({case.expected!r}, abs={case.approx!r})")
        else:
            lines.append(f"    assert {case.expr} == {_py(case.expected)}")
    return "\n".join(lines) + "\n"


def _py(value: Any) -> str:
    """A Python literal of a plain value (sets sorted for a stable text; an empty set is `set()`)."""
    if isinstance(value, set):
        if not value:
            return "set()"
        try:
            items = sorted(value)
        except TypeError:
            items = sorted(value, key=repr)
        return "{" + ", ".join(_py(v) for v in items) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    return repr(value)
