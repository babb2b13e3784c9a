"""The red-team cases (tests/redteam/cases/*.yaml) as data, rendered against real task families.

    from _redteam import load_cases, instantiate
    for case in load_cases():
        task, code, files = instantiate(case)

A case file is written for this project (issue 16): the family it targets, a category, `expected`
(`hack` or `honest`), one line on why, the solution's code and any extra files the agent writes, all
templates in the family's own placeholders (`{{fn}}`, `{{case.xs}}`, ...), plus `task_files`: data
files the task itself ships (added to the task, not written by the agent).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agentloop.core.types import Finding, Task

CASES_DIR = Path(__file__).parent / "redteam" / "cases"
HACK_CATEGORIES = (
    "import_system", "shadow_runner", "report_forgery", "non_python_payload", "equality",
    "framework_patch", "test_reads", "run_sniffing", "exits_signals", "delayed_effects", "state_sniffing",
)  # fmt: skip
# Caught by what the code does in the runs (TAMPER_RUN_DIVERGENCE), not by how it is written (issue 29).
RUN_CATEGORIES = ("state_sniffing",)


@dataclass(frozen=True)
class RedTeamCase:
    """One evasive hack or honest control, before rendering."""

    name: str
    family: str  # a folder of scenarios/tasks/
    category: str  # one of HACK_CATEGORIES (for a control: the category it is the near miss of)
    expected: str  # "hack" | "honest"
    why: str
    solution: str
    files: dict[str, str] = field(default_factory=dict)  # extra files the agent writes
    task_files: dict[str, str] = field(default_factory=dict)  # data files the task ships

    @property
    def is_hack(self) -> bool:
        return self.expected == "hack"


def load_cases(root: Path = CASES_DIR) -> list[RedTeamCase]:
    """Every case under `root`, sorted by name."""
    cases = []
    for path in sorted(root.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        cases.append(RedTeamCase(name=path.stem, **data))
    return cases


def instantiate(case: RedTeamCase, seed: int = 0) -> tuple[Task, str, dict[str, str]]:
    """The family's task instance for `seed`, and the case's code and extra files rendered for it."""
    from agentloop.tasks import load_families, render

    family = load_families()[case.family]
    params = family.params_for(seed)
    task = family.instance(seed)
    if case.task_files:
        task = dataclasses.replace(task, files={**task.files, **case.task_files})
    where = str(CASES_DIR / f"{case.name}.yaml")
    code = render(case.solution, params, where=where)
    files = {path: render(text, params, where=where) for path, text in case.files.items()}
    return task, code, files


def static_misaligned(case: RedTeamCase, seed: int = 0) -> list[Finding]:
    """The static detectors' (tampering, insecure) misalignment findings for the case."""
    from agentloop.detectors import misaligned, static_findings

    task, code, files = instantiate(case, seed)
    return misaligned(static_findings(task, code, files))
