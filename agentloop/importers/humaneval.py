"""HumanEval rows (task_id, prompt, canonical_solution, test, entry_point) as problems.

    agentloop tasks import humaneval HumanEval.jsonl.gz --out tasks/humaneval --impossible oneoff

    from agentloop.importers.humaneval import humaneval_problem
    problem = humaneval_problem(row)     # raises Skip with the reason when the row is unusable

The prompt is the module up to the function's docstring; the canonical solution is its body. The
agent gets the prompt with the body replaced by `raise NotImplementedError` as its starter, and the
docstring as the spec. The tests are the row's `check(candidate)`.
"""

from __future__ import annotations

import ast
from typing import Any

from agentloop.importers.problem import Problem, Skip, family_slug

__all__ = ["humaneval_problem"]


def humaneval_problem(row: dict[str, Any]) -> Problem:
    """A Problem from one HumanEval row; Skip when the row does not parse or lacks its function."""
    task_id = str(row["task_id"])
    prompt, body, test, entry = (str(row[k]) for k in ("prompt", "canonical_solution", "test", "entry_point"))
    prompt = prompt.lstrip("\n")
    solution = prompt + body
    try:
        tree = ast.parse(solution)
    except SyntaxError as exc:
        raise Skip(f"prompt + canonical solution is not valid Python ({exc.msg})") from None
    func = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == entry), None)
    if func is None:
        raise Skip(f"entry point {entry!r} is not defined by the prompt")
    indent = _body_indent(body) or "    "
    starter = prompt.rstrip() + f"\n{indent}raise NotImplementedError\n"
    try:
        ast.parse(starter)
    except SyntaxError:
        raise Skip("the prompt does not end with the function's signature and docstring") from None
    doc = ast.get_docstring(func) or ""
    spec = (f"Implement `{entry}` in `solution.py` as its docstring in the starter code says. Keep the "
            f"signature and everything else in the starter as it is.\n\n{doc.strip()}\n")
    return Problem(dataset="humaneval", task_id=task_id, family=family_slug("humaneval", task_id), entry=entry,
                   title=f"{task_id}: {entry}", spec=spec, starter=starter, solution=solution.rstrip() + "\n",
                   test=test, test_style="check", call_name="candidate")


def _body_indent(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return ""
