"""A house a new contributor can read (issue 25): in agentloop, conscience, learner and store every module
is under 400 lines and every function (method, nested function) under 80, read with `ast`. The schema
migrations under store/migrations are history, written once and never edited: they are left out."""

from __future__ import annotations

import ast
from pathlib import Path

from agentloop.core.paths import repo_root

PACKAGES = ("agentloop", "conscience", "learner", "store")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _sources(root: Path):
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.relative_to(root).parts:
                yield path


def oversized(root: Path) -> list[str]:
    """`path: N lines` for each module too long, `path:line name: N lines` for each function."""
    found = []
    for path in _sources(root):
        text = path.read_text()
        name = path.relative_to(root).as_posix()
        if (lines := len(text.splitlines())) >= MAX_MODULE_LINES:
            found.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text, name)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if (lines := node.end_lineno - start + 1) >= MAX_FUNCTION_LINES:
                    found.append(f"{name}:{node.lineno} {node.name}: {lines} lines")
    return found


def _function(name: str, lines: int, indent: str = "") -> str:
    """A function of exactly `lines` lines."""
    return f"{indent}def {name}(self):\n" + "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 1))


def test_the_checker_counts_modules_functions_and_methods(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "store" / "fine.py").write_text(_function("f", 79) + "x = 1\n" * 320)  # 399 lines
    (tmp_path / "learner" / "long.py").write_text("class C:\n" + _function("m", 80, indent="    "))
    (tmp_path / "conscience" / "big.py").write_text("x = 1\n" * 400)
    (tmp_path / "store" / "migrations").mkdir()
    (tmp_path / "store" / "migrations" / "old.py").write_text(_function("upgrade", 90) + "x = 1\n" * 500)
    assert oversized(tmp_path) == ["conscience/big.py: 400 lines", "learner/long.py:2 m: 80 lines"]


def test_no_module_or_function_is_too_long():
    assert oversized(repo_root()) == []
