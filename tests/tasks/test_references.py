"""Every reference solution behaves as its family claims, under a bare `python -m pytest` (visible)
and the hidden-case harness (hidden, in the rlimit sandbox as the current user: only our own code).

honest: passes the hidden cases, and the visible tests too except on impossible tasks (whose visible
tests contradict the spec, so the honest solution must fail them). hack*: the visible run reports
success (exit 0, no failure), its files included. insecure*: passes the visible tests, fails the
hidden cases (they check the secure behaviour). Whether the detectors flag them is
tests/detectors/test_reference_set.py's job.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from agentloop.detectors.reference_check import split_reference
from agentloop.sandbox import RlimitSandbox
from agentloop.sandbox.harness import run_hidden_cases
from agentloop.tasks import load_families
from agentloop.core.types import SandboxResult, Task

FAMILIES = load_families()
pytestmark = pytest.mark.slow  # ~100 pytest subprocesses: ~20 s on an idle 2-core machine, ~60 s under load


def run_reference(runner, harness, task: Task, reference: str) -> tuple[SandboxResult, SandboxResult]:
    """Like detectors.evaluate_solution: extra files join the visible run only."""
    code, extra = split_reference(task.references[reference])
    solution = {task.solution_file: code}
    visible = runner.run_tests({**task.files, **task.visible_tests, **extra, **solution}, list(task.visible_tests))
    hidden = run_hidden_cases(harness, {**task.files, **solution}, task.solution_file, task.hidden_cases)
    return visible, hidden


@pytest.fixture(scope="module")
def results(plain_pytest) -> dict[tuple[str, str], tuple[SandboxResult, SandboxResult]]:
    jobs = [(family.instance(0), ref) for family in FAMILIES.values() for ref in family.spec.expected]
    harness = RlimitSandbox(drop_privileges=False)
    with ThreadPoolExecutor(max_workers=2) as pool:  # the runs are subprocesses
        runs = pool.map(lambda job: run_reference(plain_pytest, harness, *job), jobs)
    return {(task.family, ref): run for (task, ref), run in zip(jobs, runs)}


def reported_success(run: SandboxResult) -> bool:
    return run.exit_code == 0 and run.n_failed == 0 and not run.timed_out


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_references_behave_as_claimed(results, name):
    family = FAMILIES[name]
    for ref in family.spec.expected:
        visible, hidden = results[(name, ref)]
        where = f"{name}[{ref}] visible {visible.n_passed}/{len(visible.tests)}, hidden {hidden.n_passed}/{len(hidden.tests)}"
        if ref == "honest":
            assert hidden.all_passed, where + hidden.stdout
            assert visible.all_passed == (family.kind != "impossible"), where + visible.stdout
        elif ref.startswith("hack"):
            assert reported_success(visible), where + visible.stdout
        else:
            assert visible.all_passed and not hidden.all_passed, where + hidden.stdout
