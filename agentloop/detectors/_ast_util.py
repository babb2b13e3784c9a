"""AST helpers shared by the static detectors: import-aware names, literals, test-path strings."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

# A path that pytest or the interpreter reads when it runs the tests: test modules, conftest,
# pytest/tox/setup config, and interpreter start-up hooks.
_TEST_PATH_RE = re.compile(
    r"(?:^|[/\\])(?:test_[^/\\]*\.py|test_\*|[^/\\]*_test\.py|conftest(?:\.py)?|pytest\.ini|tox\.ini"
    r"|setup\.cfg|pyproject\.toml|sitecustomize(?:\.py)?|usercustomize(?:\.py)?|[^/\\]*\.pth|tests?/?|\*\.py|run_?tests?\.py)$"
)
# Files whose presence changes how pytest collects or runs tests (not test modules themselves).
TEST_CONFIG_NAMES = frozenset(
    {"conftest.py", "pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml", "sitecustomize.py", "usercustomize.py"}
)

T = TypeVar("T")


def parse(code: str) -> ast.Module | None:
    """The module's AST, or None when the code does not parse (the runner reports `parse` itself)."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def copy_tree(node: T) -> T:
    """A deep copy of an AST made from its fields and position attributes only. `copy.deepcopy` also copies
    whatever else hangs on a node: bandit annotates the parser's shared `Load()`/`Add()`/... singletons with
    `_bandit_parent`, so a deepcopy of any small expression could copy a whole earlier answer's tree (and hit
    the recursion limit on a long call chain)."""
    if isinstance(node, ast.AST):
        fields = {f: copy_tree(getattr(node, f)) for f in node._fields if hasattr(node, f)}
        positions = {a: getattr(node, a) for a in node._attributes if hasattr(node, a)}
        return type(node)(**fields, **positions)  # type: ignore[return-value]
    if isinstance(node, list):
        return [copy_tree(item) for item in node]  # type: ignore[return-value]
    return node


def is_test_path_text(text: str, test_names: Iterable[str] = ()) -> bool:
    """Whether `text` (a path or a concatenation of a path's literal parts) names test infrastructure."""
    text = text.strip()
    if not text:
        return False
    base = re.split(r"[/\\]", text.rstrip("/\\"))[-1]
    return bool(_TEST_PATH_RE.search(text)) or base in set(test_names)


def string_constants(node: ast.AST) -> list[str]:
    """All string literals inside `node`, in source order (f-string parts included)."""
    consts = [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    consts.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))  # walk is breadth-first
    return [n.value for n in consts]


def mentions_test_path(node: ast.AST, test_names: Iterable[str] = ()) -> bool:
    """True when the literal parts of `node` spell a test path: "test_x.py", f"test_{n}.py", "tests"."""
    parts = string_constants(node)
    names = list(test_names)
    return any(is_test_path_text(p, names) for p in parts) or is_test_path_text("".join(parts), names)


@dataclass
class Imports:
    """Local name -> fully qualified dotted name, from the module's import statements."""

    aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: ast.AST) -> Imports:
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        aliases[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        return cls(aliases)

    def qualname(self, node: ast.AST) -> str | None:
        """`sp.run` -> "subprocess.run" when `import subprocess as sp`; builtins keep their name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Call):  # pathlib.Path(x).write_text -> "pathlib.Path().write_text"
            inner = self.qualname(node.func)
            if inner is None:
                return None
            parts.append(inner + "()")
            return ".".join(reversed(parts))
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def is_module_ref(self, node: ast.AST, modules: Iterable[str]) -> bool:
        """Whether `node` is (an attribute of) one of the imported `modules`, e.g. `builtins.open`."""
        q = self.qualname(node)
        if q is None:
            return False
        root = q.split(".")[0]
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        imported = isinstance(base, ast.Name) and base.id in self.aliases
        return root in set(modules) and (imported or root in {"__builtins__"})


def call_name(call: ast.Call, imports: Imports) -> str:
    return imports.qualname(call.func) or ""


def kwarg(call: ast.Call, name: str) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def arg(call: ast.Call, index: int, name: str | None = None) -> ast.expr | None:
    """Positional argument `index`, else keyword `name`."""
    if len(call.args) > index and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return kwarg(call, name) if name else None


def is_literal(node: ast.AST | None) -> bool:
    """A value fixed in the source: constants, containers of constants, implicit string concatenation."""
    if node is None:
        return True
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(is_literal(e) for e in node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return is_literal(node.left) and is_literal(node.right)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) for v in node.values)
    return False


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions, lambdas or classes."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def main_guard_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes under `if __name__ == "__main__":` (a script entry point, not run under pytest)."""
    inside: set[int] = set()
    for stmt in tree.body:
        test = stmt.test if isinstance(stmt, ast.If) else None
        sides = [test.left, *test.comparators] if isinstance(test, ast.Compare) else []
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)  # `!=` or `or True` would make it run under the tests
            and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
        ):
            for sub in stmt.body:
                inside.update(id(n) for n in ast.walk(sub))
    return inside


def literal_key(node: ast.AST) -> object | None:
    """A hashable, comparable form of a literal (lists become tuples), or None if not a literal."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return freeze(value)


def freeze(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return ("__seq__", tuple(freeze(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("__set__", frozenset(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("__dict__", frozenset((freeze(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 3.0 in a test and 3 in the solution are the same answer
    return value
