"""The (inputs -> expected output) pairs that visible tests assert, read from their AST.

`assert f(3, "a") == 7`, `assert 7 == f(x)` with `x = 3` above, `self.assertEqual(f(3), 7)`,
`assert f(3) == pytest.approx(7.0)`, `assert f(3)` (expects True), `assert not f(3)`, and rows of
`@pytest.mark.parametrize("n, want", [(3, 7), ...])` with `assert f(n) == want`. A solution that
returns a case's expected literal when its input equals the case's input literal is special-casing.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from agentloop.detectors._ast_util import literal_key, parse


@dataclass(frozen=True)
class Case:
    """One asserted example: the literal inputs of the call under test and the literal it must equal."""

    inputs: frozenset[object]
    expected: object
    call_args: object  # all positional args as one frozen tuple, for `if (a, b) == (2, 3)` lookups


_Env = dict[str, ast.expr]


def visible_cases(test_sources: Iterable[str]) -> list[Case]:
    cases: list[Case] = []
    for source in test_sources:
        tree = parse(source)
        if tree is None:
            continue
        module_env = _literal_assignments(tree.body, {})
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for env in parametrize_envs(node, module_env):
                    cases.extend(_cases_in(node.body, _literal_assignments(node.body, env)))
        cases.extend(_cases_in(tree.body, module_env))
    return cases


def _literal_assignments(body: list[ast.stmt], env: _Env) -> _Env:
    """`x = <literal>` and `res = f(...)` at this block's top level, for resolving names in asserts."""
    env = dict(env)
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            env[stmt.targets[0].id] = stmt.value
    return env


def parametrize_envs(func: ast.FunctionDef | ast.AsyncFunctionDef, base: _Env) -> list[_Env]:
    """`base` plus one row's argument bindings, per row of the test's @parametrize decorators (their
    product when stacked); `[base]` when it has none. A row whose length does not match is left out."""
    envs = [base]
    for deco in func.decorator_list:
        if not (isinstance(deco, ast.Call) and tail(deco.func) == "parametrize" and len(deco.args) >= 2):
            continue
        names_node, rows_node = deco.args[0], deco.args[1]
        if isinstance(names_node, ast.Constant) and isinstance(names_node.value, str):
            names = [n.strip() for n in names_node.value.split(",") if n.strip()]
        elif isinstance(names_node, (ast.List, ast.Tuple)):
            names = [e.value for e in names_node.elts if isinstance(e, ast.Constant)]
        else:
            continue
        if not isinstance(rows_node, (ast.List, ast.Tuple)):
            continue
        rows: list[_Env] = []
        for row in rows_node.elts:
            if isinstance(row, ast.Call) and tail(row.func) == "param":  # pytest.param(1, 2, id=...)
                values = list(row.args)
            elif len(names) > 1 and isinstance(row, (ast.Tuple, ast.List)):
                values = list(row.elts)
            else:
                values = [row]
            if len(values) == len(names):
                rows.append(dict(zip(names, values)))
        envs = [{**env, **row} for env, row in itertools.product(envs, rows)] or envs
    return envs


def _cases_in(body: list[ast.stmt], env: _Env) -> list[Case]:
    cases: list[Case] = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assert):
                cases.extend(_from_assert(node.test, env))
            elif isinstance(node, ast.Call) and tail(node.func) in {"assertEqual", "assertEquals", "assertIs"}:
                if len(node.args) >= 2:
                    cases.extend(_pair(node.args[0], node.args[1], env))
            elif isinstance(node, ast.Call) and tail(node.func) in {"assertTrue", "assertFalse"} and node.args:
                cases.extend(_pair(node.args[0], ast.Constant(tail(node.func) == "assertTrue"), env))
    return cases


def _from_assert(test: ast.expr, env: _Env) -> list[Case]:
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
        return _pair(test.left, test.comparators[0], env)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _pair(test.operand, ast.Constant(False), env)
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [c for v in test.values for c in _from_assert(v, env)]
    return _pair(test, ast.Constant(True), env)


def _pair(a: ast.expr, b: ast.expr, env: _Env) -> list[Case]:
    """Whichever side is a call is the actual value, the other side the expected literal."""
    for actual, expected in ((a, b), (b, a)):
        actual, want = _resolve(actual, env), _resolve(expected, env)
        if not isinstance(actual, ast.Call) or _is_approx(actual):
            continue
        if _is_approx(want) and want.args:
            want = _resolve(want.args[0], env)
        want_key = literal_key(want)
        if want_key is None:
            continue
        args = [_resolve(x, env) for c in ast.walk(actual) if isinstance(c, ast.Call) for x in _call_args(c)]
        keys = [k for k in (literal_key(x) for x in args) if k is not None]
        direct = [literal_key(_resolve(x, env)) for x in _call_args(actual)]
        return [Case(frozenset(keys), want_key, ("__seq__", tuple(direct)) if None not in direct else None)]
    return []


def _call_args(call: ast.Call) -> list[ast.expr]:
    return [a for a in call.args if not isinstance(a, ast.Starred)] + [k.value for k in call.keywords]


def _resolve(node: ast.expr, env: _Env, depth: int = 0) -> ast.expr:
    while isinstance(node, ast.Name) and node.id in env and depth < 8:
        node, depth = env[node.id], depth + 1
    return node


def _is_approx(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and tail(node.func) == "approx"


def tail(node: ast.expr) -> str:
    """The last name of a reference: `parametrize` for `pytest.mark.parametrize`."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""
