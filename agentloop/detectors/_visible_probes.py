"""The visible tests' assertions that the trusted harness can re-check from plain values.

    from agentloop.detectors._visible_probes import visible_assertions
    [a] = visible_assertions({"test_visible.py": "from solution import f\\ndef test_x():\\n    assert f(2) == 7\\n"},
                             "solution")
    a.test, a.calls, a.check     # "test_visible.py::test_x", ("f(2)",), "__probe0__ == 7"

Each call of a solution function whose arguments are literals becomes a hole; the hidden-case runner
evaluates the call (`calls`), and agentloop/detectors/_plain_assert.py judges the assertion (`check`)
on the plain value. An assertion qualifies only where a fresh evaluation must give what the visible
run saw: its test takes no fixtures (parametrize arguments only), nothing but literal bindings,
bindings of such calls and other such assertions runs before it, every name resolves to a literal
(a mutable one used once), the file has no fixtures, setup functions or side effects at import, and
the visible tests call one solution function, each distinct call once (a second call, or a call of
another function first, could leave state the hidden-case run lacks). Everything else is left out:
the check has no opinion on it.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentloop.detectors._ast_util import Imports, arg, copy_tree, kwarg, own_nodes, parse
from agentloop.detectors._plain_assert import hole, supported
from agentloop.detectors._visible_cases import parametrize_envs, tail

__all__ = ["Assertion", "visible_assertions"]

_SETUP_FUNCS = {"setup", "teardown", "setup_module", "teardown_module", "setup_function", "teardown_function",
                "setUp", "tearDown", "setup_method", "teardown_method", "setup_class", "teardown_class",
                "setUpClass", "tearDownClass", "setUpModule", "tearDownModule"}
_CANONICAL = {"pytest.approx": "approx", "math.isclose": "isclose"}
_CMP_METHODS: dict[str, type[ast.cmpop]] = {
    "assertEqual": ast.Eq, "assertEquals": ast.Eq, "assertNotEqual": ast.NotEq, "assertIs": ast.Is,
    "assertIsNot": ast.IsNot, "assertIn": ast.In, "assertNotIn": ast.NotIn, "assertGreater": ast.Gt,
    "assertGreaterEqual": ast.GtE, "assertLess": ast.Lt, "assertLessEqual": ast.LtE,
}


@dataclass(frozen=True)
class Assertion:
    """One re-checkable assertion of a visible test."""

    test: str  # pytest nodeid of its test function, any parametrize id left off
    rows: int  # items of `test` the visible run has (parametrize rows; 1 without)
    line: int
    source: str  # the assertion as written
    check: str  # the assertion over holes (agentloop.detectors._plain_assert)
    calls: tuple[str, ...]  # hole i: the call as the hidden-case runner evaluates it
    seen: str  # what calls[0] gave in the visible run when the assertion passed


def visible_assertions(tests: Mapping[str, str], module: str, setup: str = "") -> tuple[Assertion, ...]:
    """Every re-checkable assertion of the visible test files `tests` (path -> source) on `module`."""
    return _cached(tuple(tests.items()), module, setup)


@functools.lru_cache(maxsize=256)
def _cached(tests: tuple[tuple[str, str], ...], module: str, setup: str) -> tuple[Assertion, ...]:
    reserved = _bound_names(parse(setup) or ast.Module(body=[], type_ignores=[]))
    found: list[Assertion] = []
    runs: Counter[str] = Counter()  # how often the visible run makes each call
    functions: set[str] = set()  # the solution functions the visible tests call, in any way
    for path, source in tests:
        tree = parse(source)
        if tree is None:
            continue
        file = _File(tree, path, module, reserved)
        functions |= {f for n in ast.walk(tree) if (f := file.under_test(n))}
        if _plain_module(tree):
            found.extend(file.assertions(runs))
    if len(functions) > 1:
        return ()  # one function's call could leave state that another's answer depends on
    return tuple(a for a in found if all(runs[c] == 1 for c in a.calls))  # a second call could see state too


class _Rejected(Exception):
    """This assertion cannot be re-checked (and those after it in its test are not trusted either)."""


class _File:
    def __init__(self, tree: ast.Module, path: str, module: str, reserved: set[str]) -> None:
        self.tree, self.path, self.module, self.reserved = tree, path, module, reserved
        self.imports = Imports.of(tree)
        self.stores, self.loads = _name_uses(ast.walk(tree))
        self.defined = _bound_names(tree)
        single = [s for s in tree.body if isinstance(s, ast.Assign) and len(s.targets) == 1]
        self.globals = {s.targets[0].id: s.value for s in single
                        if isinstance(s.targets[0], ast.Name) and self.stores[s.targets[0].id] == 1}

    def under_test(self, node: ast.AST) -> str | None:
        """The solution function `node` calls, if it is such a call."""
        if not isinstance(node, ast.Call):
            return None
        qual = self.imports.qualname(node.func) or ""
        name = qual[len(self.module) + 1:] if qual.startswith(self.module + ".") else ""
        local = node.func.id if isinstance(node.func, ast.Name) else ""
        return name if name.isidentifier() and not self.stores[local] else None

    def assertions(self, runs: Counter[str]) -> list[Assertion]:
        out: list[Assertion] = []
        for nodeid, func in _test_functions(self.tree, self.path):
            envs = parametrize_envs(func, {})
            params = {a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]} - {"self"}
            if params - set(envs[0]) or func.args.vararg or func.args.kwarg:
                continue  # a fixture could set up state that a fresh evaluation lacks
            out.extend(a for env in envs for a in _Test(self, func, env, nodeid, len(envs), runs).assertions())
        return out


class _Test:
    """One test function (one parametrize row): its assertions, in order, until one cannot be re-checked."""

    def __init__(self, file: _File, func: ast.FunctionDef, env: dict[str, ast.expr], nodeid: str, rows: int,
                 runs: Counter[str]) -> None:
        self.file, self.func, self.env, self.nodeid, self.rows, self.runs = file, func, env, nodeid, rows, runs
        self.stores, self.loads = _name_uses(own_nodes(func))
        self.bound: dict[str, ast.expr] = {}

    def assertions(self) -> list[Assertion]:
        out: list[Assertion] = []
        for stmt in self.func.body:
            if isinstance(stmt, (ast.Pass, ast.Import, ast.ImportFrom)) or _docstring(stmt):
                continue
            try:
                if isinstance(stmt, ast.Assign):
                    self._bind(stmt)
                    continue
                checks = _checks(stmt)
                if checks is None:
                    break  # anything else may change what a later call sees
                out.extend(self._assertion(stmt, check) for check in checks)
            except _Rejected:
                break
        self._count_runs()
        return out

    def _count_runs(self) -> None:
        """Every call of the test the harness could ask again, by its text: those made twice are left out."""
        for stmt in self.func.body:
            for node in ast.walk(stmt):
                if self.file.under_test(node):
                    with contextlib.suppress(_Rejected):
                        self.runs[self.call_text(node)] += 1  # type: ignore[arg-type]

    def _bind(self, stmt: ast.Assign) -> None:
        target = stmt.targets[0] if len(stmt.targets) == 1 else None
        if not isinstance(target, ast.Name) or self.stores[target.id] != 1 or target.id in self.env:
            raise _Rejected("not a single binding")
        if not (self.file.under_test(stmt.value) or _literal(stmt.value)):
            raise _Rejected("a binding that runs other code")
        self.bound[target.id] = stmt.value

    def _assertion(self, stmt: ast.stmt, check: ast.expr) -> Assertion:
        calls: list[str] = []
        template = _Holes(self, calls).visit(copy_tree(check))
        if not calls or not supported(template):
            raise _Rejected("no call under test, or a construct plain values cannot judge")
        return Assertion(self.nodeid, self.rows, stmt.lineno, ast.unparse(stmt), ast.unparse(template),
                         tuple(calls), _seen(template))

    def resolve(self, node: ast.expr) -> ast.expr:
        """A name as the literal (or call under test) it is bound to; anything else is rejected."""
        if not isinstance(node, ast.Name):
            return node
        name = node.id
        if name in self.bound:
            value, uses = self.bound[name], self.loads[name]
        elif name in self.env and not self.stores[name]:
            value, uses = self.env[name], self.loads[name]
        elif name in self.file.globals and not self.stores[name]:
            value, uses = self.file.globals[name], self.file.loads[name]
        else:
            raise _Rejected(f"{name} is not bound to a literal")
        if uses > 1 and _literal(value) and _mutable(ast.literal_eval(value)):
            raise _Rejected(f"{name} is a mutable literal used more than once")
        return value

    def call_text(self, call: ast.Call) -> str:
        """The call as the hidden-case runner evaluates it: literal arguments, the solution's name in scope."""
        name = self.file.under_test(call)
        assert name is not None
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            raise _Rejected("unpacked arguments")
        args = [self.resolve(a) for a in call.args]
        keywords = [ast.keyword(k.arg, self.resolve(k.value)) for k in call.keywords]
        if not all(_literal(a) for a in [*args, *(k.value for k in keywords)]):
            raise _Rejected("an argument that is not a literal")
        bare = not name.startswith("_") and name not in self.file.reserved and not hasattr(builtins, name)
        func: ast.expr = ast.Name(name) if bare else ast.Attribute(ast.Name(self.file.module), name)
        return ast.unparse(ast.Call(func, args, keywords))


class _Holes(ast.NodeTransformer):
    """Calls under test -> holes, names -> their literals, approx/isclose -> canonical names."""

    def __init__(self, test: _Test, calls: list[str]) -> None:
        self.test, self.calls = test, calls

    def _hole(self, call: ast.Call) -> ast.Name:
        text = self.test.call_text(call)
        if text not in self.calls:
            self.calls.append(text)
        return ast.Name(hole(self.calls.index(text)))

    def visit_Call(self, node: ast.Call) -> ast.expr:
        if self.test.file.under_test(node):
            return self._hole(node)
        qual = self.test.file.imports.qualname(node.func) or ""
        if qual in _CANONICAL:
            node.func = ast.Name(_CANONICAL[qual])
        elif not (isinstance(node.func, ast.Name) and node.func.id not in self.test.file.defined
                  and not self.test.stores[node.func.id]):
            raise _Rejected("a call of something other than a builtin or pytest.approx")
        node.args = [self.visit(a) for a in node.args]
        node.keywords = [ast.keyword(k.arg, self.visit(k.value)) for k in node.keywords]
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        value = self.test.resolve(node)
        if isinstance(value, ast.Call):
            return self._hole(value)  # bound once by `r = f(...)`: one call, however often it is read
        return copy_tree(value)


def _checks(stmt: ast.stmt) -> list[ast.expr] | None:
    """The conditions an assertion statement checks (`assert a and b` is two), None for any other statement."""
    if isinstance(stmt, ast.Assert):
        test = stmt.test
        return list(test.values) if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"):
        return None
    check = _method_check(call)
    return None if check is None else [check]


def _method_check(call: ast.Call) -> ast.expr | None:
    """unittest's self.assertX(...) as the expression it checks."""
    name, args = tail(call.func), call.args
    if name in _CMP_METHODS and len(args) >= 2:
        return ast.Compare(args[0], [_CMP_METHODS[name]()], [args[1]])
    if name in ("assertTrue", "assertFalse") and args:
        return args[0] if name == "assertTrue" else ast.UnaryOp(ast.Not(), args[0])
    if name in ("assertIsNone", "assertIsNotNone") and args:
        return ast.Compare(args[0], [ast.Is() if name == "assertIsNone" else ast.IsNot()], [ast.Constant(None)])
    if name == "assertAlmostEqual" and len(args) >= 2:
        diff = ast.Call(ast.Name("abs"), [ast.BinOp(args[0], ast.Sub(), args[1])], [])
        if (delta := kwarg(call, "delta")) is not None:
            return ast.Compare(diff, [ast.LtE()], [delta])
        places = arg(call, 2, "places") or ast.Constant(7)
        return ast.Compare(ast.Call(ast.Name("round"), [diff, places], []), [ast.Eq()], [ast.Constant(0)])
    return None


def _seen(template: ast.expr) -> str:
    """What the first hole must have been for the assertion to pass, in words."""
    first = hole(0)
    if isinstance(template, ast.Name):
        return "a truthy value"
    if isinstance(template, ast.UnaryOp) and isinstance(template.op, ast.Not) \
            and isinstance(template.operand, ast.Name):
        return "a falsy value"
    if not (isinstance(template, ast.Compare) and len(template.ops) == 1):
        return "a value that passes it"
    op, sides = template.ops[0], [template.left, template.comparators[0]]
    for mine, other in (sides, sides[::-1]):
        if isinstance(mine, ast.Name) and mine.id == first and isinstance(op, (ast.Eq, ast.Is)):
            if isinstance(other, ast.Call) and other.args:  # approx(x)
                return f"approximately {ast.unparse(other.args[0])}"
            return ast.unparse(other)
        if isinstance(mine, ast.Name) and mine.id == first and isinstance(op, ast.NotEq):
            return f"a value other than {ast.unparse(other)}"
    diff = template.left
    inner = diff.args[0] if isinstance(diff, ast.Call) and diff.args else None
    if isinstance(op, (ast.Lt, ast.LtE)) and isinstance(inner, ast.BinOp):  # abs(f(x) - want) < tolerance
        want = inner.right if isinstance(inner.left, ast.Name) else inner.left
        return f"a value within {ast.unparse(template.comparators[0])} of {ast.unparse(want)}"
    return "a value that passes it"


def _test_functions(tree: ast.Module, path: str) -> list[tuple[str, ast.FunctionDef]]:
    """(nodeid, function) of the tests pytest collects from the module: test_* functions and methods of
    Test* classes (or unittest.TestCase subclasses) that have no set-up methods or __init__."""
    out: list[tuple[str, ast.FunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            out.append((f"{path}::{node.name}", node))
        elif isinstance(node, ast.ClassDef) and (node.name.startswith("Test")
                                                 or any(tail(b) == "TestCase" for b in node.bases)):
            methods = [m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if any(m.name in _SETUP_FUNCS | {"__init__"} for m in methods):
                continue
            out.extend((f"{path}::{node.name}::{m.name}", m) for m in methods
                       if isinstance(m, ast.FunctionDef) and m.name.startswith("test"))
    return out


def _plain_module(tree: ast.Module) -> bool:
    """No fixtures, set-up functions, marks that add fixtures, or statements with effects at import."""
    for node in ast.walk(tree):
        for deco in getattr(node, "decorator_list", []):
            if tail(deco.func if isinstance(deco, ast.Call) else deco) in {"fixture", "usefixtures", "yield_fixture"}:
                return False
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in _SETUP_FUNCS:
            return False
        names = [t.id if isinstance(t, ast.Name) else "" for t in getattr(stmt, "targets", [])]
        if isinstance(stmt, ast.Assign) and not all(n and n != "pytestmark" for n in names):
            return False
        if isinstance(stmt, ast.Assign):
            try:
                ast.literal_eval(stmt.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return False
        elif not (isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  or _docstring(stmt)):
            return False
    return True


def _name_uses(nodes: Iterable[ast.AST]) -> tuple[Counter[str], Counter[str]]:
    """How often each name is bound (stored or deleted) and read among `nodes`."""
    names = [n for n in nodes if isinstance(n, ast.Name)]
    return (Counter(n.id for n in names if not isinstance(n.ctx, ast.Load)),
            Counter(n.id for n in names if isinstance(n.ctx, ast.Load)))


def _bound_names(tree: ast.Module) -> set[str]:
    """Names the module's top level binds (definitions, imports, assignments)."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _mutable(value: object) -> bool:
    if isinstance(value, (list, dict, set)):
        return True
    return isinstance(value, (tuple, frozenset)) and any(_mutable(v) for v in value)


def _docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
