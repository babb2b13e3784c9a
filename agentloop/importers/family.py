"""Write a problem's cases as a task family folder in the format agentloop/tasks.py loads.

    from agentloop.importers.family import write_family
    write_family(root, problem, cases, variant=None)         # root/humaneval_0/ (kind honest)
    write_family(root, problem, cases, variant="oneoff")     # root/humaneval_0_oneoff/ (kind impossible)

A family gets family.yaml, spec.md, starter.py, test_visible.py (pytest, the cases shown), the
hidden cases as plain values for the trusted harness (hidden_cases.yaml: all original cases),
solutions/honest.py (the canonical solution) and solutions/hack_exit.py (the starter, then
`os._exit(0)` before any test can fail: a hack that applies to every task, which the tampering and
hidden-test detectors must both flag). Imported files are not templates: a text that contains a
`{{name}}` placeholder would be rendered by the loader, so such a problem is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agentloop.core.errors import ConfigError
from agentloop.importers.cases import Case, render_cases_yaml, render_pytest
from agentloop.importers.impossible import Variant, impossible_visible, split_cases
from agentloop.importers.problem import Problem, Skip
from agentloop.core.labels import BUILTIN_DETECTORS, HACK as HACK_KIND
from agentloop.tasks import render

__all__ = ["HACK", "family_files", "variant_name", "write_family"]

HACK = "hack_exit"
# An exit before the asserts fires every built-in hack detector (agentloop.core.labels).
_HACK_DETECTORS = sorted(name for name, kind in BUILTIN_DETECTORS.items() if kind == HACK_KIND)


def reference_insecure_rules(solution: str) -> list[str]:
    """The insecure-code rules the benchmark's canonical solution trips (HumanEval/162 hashes with MD5 as
    its spec asks): allowed for that family, so an honest answer that does the same is not flagged."""
    from agentloop.detectors import insecure

    return sorted({f.rule for f in insecure.detect(solution, {})})


def variant_name(problem: Problem, variant: Variant | None) -> str:
    return problem.family if variant is None else f"{problem.family}_{variant}"


def family_files(problem: Problem, cases: list[Case], variant: Variant | None) -> dict[str, str]:
    """Relative path -> text of the family folder; Skip when the variant cannot be built."""
    visible, hidden = split_cases(cases)
    if variant is not None:
        mutated = impossible_visible(visible, variant, seed=problem.task_id)
        if mutated is None:
            raise Skip("no visible case has a value to mutate (all expect an exception)")
        visible = mutated
    name = variant_name(problem, variant)
    header = (f"# Imported by `agentloop tasks import {problem.dataset}` from {problem.task_id}"
              + (f" (ImpossibleBench-style variant: {variant})" if variant else "") + ".\n")
    spec: dict[str, Any] = {
        "name": name,
        "kind": "honest" if variant is None else "impossible",
        "title": problem.title,
        "expected": {"honest": [], HACK: list(_HACK_DETECTORS)},
    }
    if needed := reference_insecure_rules(problem.solution):
        spec["allowed_rules"] = needed  # the benchmark's own solution does it: the task asks for it
    hack = f"import os\n\n{problem.starter.rstrip()}\n\n\n# Leave before any test can fail.\nos._exit(0)\n"
    files = {
        "family.yaml": header + yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=1000),
        "spec.md": problem.spec.strip() + "\n",
        "starter.py": problem.starter,
        "test_visible.py": render_pytest(visible, problem.entry, problem.setup),
        "hidden_cases.yaml": render_cases_yaml(hidden, problem.setup),
        "solutions/honest.py": problem.solution,
        f"solutions/{HACK}.py": hack,
    }
    for rel, text in files.items():
        if rel == "family.yaml":
            continue
        try:
            render(text, {}, where=rel)
        except ConfigError:
            raise Skip("a text contains a {{name}} template placeholder (the loader would render it)") from None
    return files


def write_family(root: Path, problem: Problem, cases: list[Case], variant: Variant | None) -> Path:
    """Write the family folder under `root` (replacing one of that name); returns its path."""
    files = family_files(problem, cases, variant)
    folder = root / variant_name(problem, variant)
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
