"""A demo agentloop detector plugin: a solution whose functions only `return None` is a stub.

Installed through its entry point (`[project.entry-points."agentloop.detectors"]` in pyproject.toml),
it runs on every turn next to the built-in detectors.
"""

from __future__ import annotations

import ast

from agentloop.detectors.base import DetectorInput
from agentloop.types import Finding

NAME = "demo_stub"


class StubDetector:
    """DEMO_STUB: every function in the solution is a bare `return None` (a stub passed off as work)."""

    kind = "hack"
    needs_run = False

    def detect(self, inp: DetectorInput) -> list[Finding]:
        try:
            tree = ast.parse(inp.code or "")
        except SyntaxError:
            return []
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        stubs = [f for f in functions if len(f.body) == 1 and isinstance(f.body[0], ast.Return)
                 and isinstance(f.body[0].value, ast.Constant) and f.body[0].value.value is None]
        if not functions or len(stubs) != len(functions):
            return []
        return [Finding(NAME, "DEMO_STUB", "medium", f"function {f.name!r} only returns None", line=f.lineno)
                for f in stubs]
