"""No import cycles among the project's modules, including cycles hidden by an import inside a
function (issue 25): the import graph of agentloop, conscience, learner and store, read from the
source (every `import` at any depth, `if TYPE_CHECKING:` blocks aside: they never run), has no
strongly connected component of more than one module. A package's `__init__` counts as a module."""

from __future__ import annotations

import ast
from pathlib import Path

from agentloop.core.paths import repo_root

PACKAGES = ("agentloop", "conscience", "learner", "store")


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:  # alembic loads these by path, never by import
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def _runtime_imports(tree: ast.AST):
    """Import nodes outside `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for body in node.orelse for n in _runtime_imports(ast.Module(body=[body], type_ignores=[])))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _runtime_imports(node)


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = _modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parent = package
                    for _ in range(node.level - 1):
                        parent = parent.rpartition(".")[0]
                    base = f"{parent}.{base}" if node.module else parent
                # `from pkg import sub` depends on the module pkg.sub; on pkg itself only for its names
                names = [f"{base}.{a.name}" for a in node.names]
                targets = names if all(n in modules for n in names) else [base, *names]
            for target in targets:
                if target.split(".")[0] in PACKAGES and (found := resolve(target)) and found != name:
                    graph[name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_checker_finds_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "__init__.py").write_text("")
    (tmp_path / "store" / "a.py").write_text("from store.b import f\n")
    (tmp_path / "store" / "b.py").write_text("def f():\n    from store import a\n")
    (tmp_path / "store" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from store import a\n")
    for package in ("agentloop", "conscience", "learner"):
        (tmp_path / package).mkdir()
    assert cycles(import_graph(tmp_path)) == [["store.a", "store.b"]]


def test_no_import_cycles():
    assert cycles(import_graph(repo_root())) == []


def test_core_imports_nothing_of_the_project_outside_itself():
    """agentloop.core is the bottom layer: every package may import it, and it imports (at any depth,
    a function's lazy import too) nothing of the project but itself."""
    upward = {name: sorted(t for t in targets if not t.startswith("agentloop.core"))
              for name, targets in import_graph(repo_root()).items() if name.startswith("agentloop.core")}
    assert {name: targets for name, targets in upward.items() if targets} == {}


def test_the_project_imports_the_domain_types_from_core():
    """agentloop/types.py only keeps the plugins' documented import path alive; no module of the project uses it."""
    from agentloop import types
    from agentloop.core import types as core_types

    assert types.Finding is core_types.Finding
    importers = sorted(name for name, targets in import_graph(repo_root()).items() if "agentloop.types" in targets)
    assert importers == []
