"""Judge a visible test's assertion on the plain values the trusted harness got for its calls.

    from agentloop.detectors._plain_assert import hole, holds
    holds(f"{hole(0)} == 16", [6])                     # False: with 6 the visible assertion fails
    holds(f"abs({hole(0)} - 2.5) < 1e-09", [2.5])      # True
    holds(f"{hole(0)} == (1, 2)", [[1, 2]])            # True: JSON has no tuples, the list may have been one

The assertion arrives as an expression in which each call under test is a hole (`__probe0__`), and the
values are what agentloop/sandbox/harness.py read back: plain JSON data, never an object, so this runs
in the framework's process. JSON keeps bool/int/float/str/None/dict exactly and loses one thing, tuple
vs list; every intermediate result says whether that loss could have changed it (`loose`), and only a
firm False is a contradiction. `None` means "cannot be told": a construct outside the small language
below (method calls, attributes, comprehensions, names other than holes), or a loose False.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["hole", "holds", "supported"]

_HOLE = re.compile(r"__probe(\d+)__")
# Errors a plain-value operation raises: the pytest run, given the same value, raised them too.
_ERRORS = (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError, AttributeError)


def hole(index: int) -> str:
    """The name that stands for the assertion's `index`-th call under test."""
    return f"__probe{index}__"


class _Unknown(Exception):
    """The assertion cannot be judged from plain values."""


@dataclass(frozen=True)
class _Approx:
    """pytest.approx(expected, rel=, abs=) as a value the comparison understands."""

    expected: Any
    rel: float | None = None
    abs: float | None = None


@dataclass(frozen=True)
class _V:
    value: Any
    loose: bool = False  # may differ from what Python computed on the real objects (a list that was a tuple)


def _approx(expected: Any, rel: float | None = None, abs: float | None = None) -> _Approx:  # noqa: A002
    return _Approx(expected, rel, abs)


# Callables the assertion may use (all pure on plain data) and the keywords each accepts.
_FUNCS: dict[str, Callable[..., Any]] = {
    "len": len, "sorted": sorted, "sum": sum, "min": min, "max": max, "abs": abs, "round": round, "bool": bool,
    "int": int, "float": float, "str": str, "list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
    "approx": _approx, "pytest.approx": _approx, "isclose": math.isclose, "math.isclose": math.isclose,
}  # fmt: skip
_KEYWORDS = {"sorted": {"reverse"}, "round": {"ndigits"}, "approx": {"rel", "abs"}, "pytest.approx": {"rel", "abs"},
             "isclose": {"rel_tol", "abs_tol"}, "math.isclose": {"rel_tol", "abs_tol"}}
_NEW_CONTAINER = {"sorted", "list", "tuple", "set", "frozenset"}  # the outer container is what Python makes too
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_NODES = (ast.Expression, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp, ast.Compare,
          ast.Call, ast.keyword, ast.Subscript, ast.Slice, ast.Load, ast.Not, ast.USub, ast.UAdd, *_BINOPS, *_CMPOPS,
          ast.Is, ast.IsNot)


def supported(check: ast.expr) -> bool:
    """Whether `holds` can judge this assertion expression at all (before any value exists)."""
    funcs = {id(n.func): n.func for n in ast.walk(check) if isinstance(n, ast.Call)}
    if any(_func_name(f) not in _FUNCS for f in funcs.values()):
        return False
    inside_funcs = {id(n) for f in funcs.values() for n in ast.walk(f)}
    for node in ast.walk(check):
        if id(node) in inside_funcs:
            continue
        if isinstance(node, ast.Name):
            if not _HOLE.fullmatch(node.id):
                return False
        elif isinstance(node, ast.Call) and (any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg not in _KEYWORDS.get(_func_name(node.func), ()) for k in node.keywords)):
            return False
        elif not isinstance(node, _NODES) or (isinstance(node, ast.Dict) and None in node.keys):
            return False
    return True


def holds(check: str, values: Sequence[Any]) -> bool | None:
    """Whether the assertion holds when its calls give `values`; None when plain values cannot tell."""
    tree = _parsed(check)
    if tree is None or not supported(tree):
        return None
    try:
        result = _eval(tree.body, values)
    except _Unknown:
        return None
    except _ERRORS:  # with these values the assertion raises: it cannot have passed, unless a tuple became a list
        return None if any(_has_list(v) for v in values) else False
    if isinstance(result.value, _Approx):
        return None
    truth = bool(result.value)
    return None if not truth and result.loose and type(result.value) is bool else truth


@functools.lru_cache(maxsize=1024)
def _parsed(check: str) -> ast.Expression | None:
    try:
        return ast.parse(check, mode="eval")
    except SyntaxError:
        return None


def _eval(node: ast.expr, values: Sequence[Any]) -> _V:
    if isinstance(node, ast.Name):
        index = int(_HOLE.fullmatch(node.id).group(1))  # type: ignore[union-attr]  # supported() checked
        if index >= len(values):
            raise _Unknown(f"no value for {node.id}")
        return _V(values[index], _has_list(values[index]))
    if isinstance(node, ast.Constant):
        return _V(node.value)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_eval(e, values) for e in node.elts]
        kind = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
        return _V(kind(i.value for i in items), any(i.loose for i in items))
    if isinstance(node, ast.Dict):
        keys = [_eval(k, values) for k in node.keys if k is not None]
        items = [_eval(v, values) for v in node.values]
        return _V({k.value: v.value for k, v in zip(keys, items)}, any(x.loose for x in keys + items))
    if isinstance(node, ast.UnaryOp):
        return _unary(node, _eval(node.operand, values))
    if isinstance(node, ast.BinOp):
        return _binop(node, _eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.Compare):
        return _chain(node, values)
    if isinstance(node, ast.Call):
        return _call(node, values)
    if isinstance(node, ast.Subscript):
        base, key = _eval(node.value, values), _index(node.slice, values)
        result = base.value[key]
        return _V(result, base.loose and _has_list(result))
    raise _Unknown(type(node).__name__)


def _index(node: ast.expr, values: Sequence[Any]) -> Any:
    if isinstance(node, ast.Slice):
        parts = [None if p is None else _eval(p, values).value for p in (node.lower, node.upper, node.step)]
        return slice(*parts)
    return _eval(node, values).value


def _unary(node: ast.UnaryOp, operand: _V) -> _V:
    if isinstance(node.op, ast.Not):
        return _V(not operand.value, operand.loose and type(operand.value) is bool)
    if not _number(operand.value):
        raise _Unknown("sign of a non-number")
    return _V(-operand.value if isinstance(node.op, ast.USub) else +operand.value)


def _binop(node: ast.BinOp, left: _V, right: _V) -> _V:
    if any(isinstance(x.value, (list, tuple, dict, set, frozenset, _Approx)) for x in (left, right)):
        raise _Unknown("arithmetic on containers")  # list + tuple would differ from what the pytest run did
    if not isinstance(node.op, (ast.Add, ast.Sub)) and not (_number(left.value) and _number(right.value)):
        raise _Unknown("repetition or formatting")  # "x" * 10**12 must not run in the framework's process
    return _V(_BINOPS[type(node.op)](left.value, right.value))


def _chain(node: ast.Compare, values: Sequence[Any]) -> _V:
    """`a < b < c` as Python runs it: the first false link is the result."""
    left, loose = _eval(node.left, values), False
    for op, right_node in zip(node.ops, node.comparators):
        right = _eval(right_node, values)
        link = _compare(op, left, right)
        if not link.value:
            return link
        loose, left = loose or link.loose, right
    return _V(True, loose)


def _compare(op: ast.cmpop, a: _V, b: _V) -> _V:
    if isinstance(op, (ast.Is, ast.IsNot)):
        if not any(x.value is None or type(x.value) is bool for x in (a, b)):
            raise _Unknown("`is` between values other than None/True/False")
        return _V((a.value is b.value) != isinstance(op, ast.IsNot))
    if isinstance(a.value, _Approx) or isinstance(b.value, _Approx):
        if not isinstance(op, (ast.Eq, ast.NotEq)):
            raise _Unknown("approx outside == / !=")
        approx, other = (a.value, b.value) if isinstance(a.value, _Approx) else (b.value, a.value)
        return _V(_approx_equal(other, approx) != isinstance(op, ast.NotEq))
    loose = a.loose or b.loose
    x, y = (_as_lists(a.value), _as_lists(b.value)) if loose else (a.value, b.value)
    result = _CMPOPS[type(op)](x, y)
    if loose and isinstance(op, (ast.Eq, ast.In)):
        return _V(result, result)  # equal as lists, maybe not as list and tuple; unequal is unequal
    if loose and isinstance(op, (ast.NotEq, ast.NotIn)):
        return _V(result, not result)
    return _V(result)  # an ordering of a list and a tuple raises in Python, so the pytest run compared like with like


def _call(node: ast.Call, values: Sequence[Any]) -> _V:
    name = _func_name(node.func)
    args = [_eval(a, values) for a in node.args]
    kwargs = {k.arg: _eval(k.value, values).value for k in node.keywords if k.arg}
    loose = any(a.loose for a in args)
    if loose and name == "str":
        raise _Unknown("str() of a list that may have been a tuple")
    result = _FUNCS[name](*[a.value for a in args], **kwargs)
    loose_bool = any(a.loose and type(a.value) is bool for a in args)
    return _V(result, loose_bool or (loose and _has_list(result, outer=name not in _NEW_CONTAINER)))


def _func_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


def _approx_equal(actual: Any, approx: _Approx) -> bool:
    """pytest.approx's rule (rel 1e-6, abs 1e-12 by default; abs alone disables rel), a hair lenient."""
    expected = approx.expected
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and actual.keys() == expected.keys()
                and all(_approx_equal(actual[k], _Approx(v, approx.rel, approx.abs)) for k, v in expected.items()))
    if isinstance(expected, (list, tuple)):
        return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                and all(_approx_equal(a, _Approx(e, approx.rel, approx.abs)) for a, e in zip(actual, expected)))
    if not (_number(expected) and _number(actual)) or actual == expected:
        return bool(actual == expected)
    if math.isinf(expected) or math.isnan(expected) or math.isnan(actual):
        return False
    absolute = 1e-12 if approx.abs is None else approx.abs
    tolerance = absolute if approx.rel is None and approx.abs is not None else max(
        (1e-6 if approx.rel is None else approx.rel) * abs(expected), absolute)
    return abs(actual - expected) <= tolerance * (1 + 1e-9) + 1e-300  # rounding must not turn a pass into a fail


def _number(value: Any) -> bool:
    return type(value) in (int, float, bool)


def _has_list(value: Any, outer: bool = True) -> bool:
    """Whether `value` holds a list (JSON's stand-in for a tuple); `outer=False` skips `value` itself."""
    if isinstance(value, list) and outer:
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_list(v) for v in value)
    if isinstance(value, dict):
        return any(_has_list(v) for v in value.values())
    return False


def _as_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    return value
