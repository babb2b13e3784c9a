"""MBPP rows (text, code, test_list, test_setup_code; or the sanitized prompt/test_imports) as problems.

    agentloop tasks import mbpp mbpp.jsonl --out tasks/mbpp

    from agentloop.importers.mbpp import mbpp_problem
    problem = mbpp_problem(row)     # raises Skip with the reason when the row is unusable

The function under test is the one the first assert calls (and the code defines). The spec is the
row's text plus that function's signature; the starter is the signature alone.
"""

from __future__ import annotations

import ast
from typing import Any

from agentloop.importers.problem import Problem, Skip, family_slug

__all__ = ["mbpp_problem"]


def mbpp_problem(row: dict[str, Any]) -> Problem:
    """A Problem from one MBPP row; Skip when the code does not parse or no test calls its function."""
    task_id = str(row["task_id"])
    text = str(row.get("text") or row.get("prompt") or "").strip()
    code = _clean(str(row["code"]))
    tests = [_clean(str(t)) for t in (row.get("test_list") or [])]
    setup = _clean(str(row.get("test_setup_code") or ""))
    imports = row.get("test_imports") or []
    if imports:
        setup = "\n".join([*map(str, imports), setup]).strip()
    if not tests:
        raise Skip("no tests in test_list")
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise Skip(f"the code is not valid Python ({exc.msg})") from None
    defined = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    entry = _tested_function(tests, defined)
    if entry is None:
        raise Skip("no assert calls a function that the code defines")
    func = defined[entry]
    signature = f"def {entry}({ast.unparse(func.args)}):"
    spec = f"{text}\n\nWrite it in `solution.py` as:\n\n```python\n{signature}\n```\n"
    return Problem(dataset="mbpp", task_id=task_id, family=family_slug("mbpp", task_id), entry=entry,
                   title=f"MBPP {task_id}: {entry}", spec=spec,
                   starter=f"{signature}\n    raise NotImplementedError\n", solution=code.rstrip() + "\n",
                   test="\n".join(tests) + "\n", test_style="asserts", call_name=entry, setup=setup)


def _clean(text: str) -> str:
    """MBPP stores Windows line ends and trailing blanks."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip("\n")


def _tested_function(tests: list[str], defined: dict[str, ast.FunctionDef]) -> str | None:
    for test in tests:
        try:
            tree = ast.parse(test)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in defined:
                return node.func.id
    return None
