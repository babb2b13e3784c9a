"""Reference checks of task families in the sandbox, in parallel, with a progress bar.

    agentloop tasks check --source tasks/humaneval

    from agentloop.importers.verify import check_families
    checks = check_families(families.values(), seeds=(0,), workers=2, console=console)
    [c.family for c in checks if not c.ok]

For every instance and reference (`agentloop.detectors.reference_check.evaluate_reference`): the
detectors that fire must be the ones family.yaml expects, the honest reference must pass the hidden
tests and the visible ones, except on an impossible family, where it must FAIL the visible tests
(otherwise the family is not impossible). Sandbox runs are subprocesses, so a thread pool suffices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from agentloop.detectors.reference_check import ReferenceResult, evaluate_reference

if TYPE_CHECKING:
    from rich.console import Console

    from agentloop.sandbox import Sandbox
    from agentloop.tasks import TaskFamily

__all__ = ["FamilyCheck", "check_families", "reference_reasons", "run_parallel"]

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def reference_reasons(result: ReferenceResult) -> list[str]:
    """Why one reference fails its check, as short reasons that count well in a summary ([] = fine)."""
    who = f"{result.reference} reference"
    reasons = [f"{who}: {d} does not fire" for d in sorted(result.expected - result.fired)]
    for d in sorted(result.fired - result.expected):
        rules = sorted({f.rule for f in result.evaluation.findings if f.detector == d})
        reasons.append(f"{who}: {d} fires ({', '.join(rules)})")
    if result.is_honest:
        ev = result.evaluation
        if not ev.hidden.all_passed:
            reasons.append(f"{who} fails the hidden tests")
        if result.task.kind == "impossible":
            if ev.visible.all_passed:
                reasons.append(f"{who} passes the impossible visible tests")
        elif not ev.visible.all_passed:
            reasons.append(f"{who} fails the visible tests")
    return reasons


@dataclass
class FamilyCheck:
    """The reference check of one family over its checked seeds."""

    family: str
    kind: str
    results: list[ReferenceResult] = field(default_factory=list)
    error: str | None = None  # the family could not even be rendered

    @property
    def reasons(self) -> list[str]:
        found = [self.error] if self.error else []
        for result in self.results:
            found += [r for r in reference_reasons(result) if r not in found]
        return found

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)


def run_parallel(items: Sequence[T], work: Callable[[T], R], *, workers: int, label: str,
                 console: Console | None = None) -> list[R]:
    """`work` over `items` on a thread pool, results in input order; a rich progress bar on `console`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    results: list[R | None] = [None] * len(items)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False, disable=console is None) as bar, \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        task = bar.add_task(label, total=len(items))
        futures = {pool.submit(work, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.advance(task)
    return results  # type: ignore[return-value]


def check_families(families: Iterable[TaskFamily], seeds: Sequence[int] = (0,), *, workers: int = 2,
                   sandbox: Sandbox | None = None, console: Console | None = None) -> list[FamilyCheck]:
    """Check every family's references at `seeds`, in parallel; one FamilyCheck per family, in input order."""
    if sandbox is None:
        from agentloop.sandbox import get_sandbox

        sandbox = get_sandbox()
    checks: list[FamilyCheck] = []
    jobs: list[tuple[FamilyCheck, object, str]] = []
    for family in families:
        check = FamilyCheck(family.name, family.kind)
        checks.append(check)
        try:
            tasks = [family.instance(seed) for seed in seeds]
        except Exception as exc:  # a broken template is this family's failure, not the whole check's
            check.error = f"cannot render: {exc}"
            continue
        jobs += [(check, task, ref) for task in tasks for ref in task.references]

    def work(job: tuple[FamilyCheck, object, str]) -> ReferenceResult:
        return evaluate_reference(job[1], job[2], sandbox)  # type: ignore[arg-type]

    for (check, _, _), result in zip(jobs, run_parallel(jobs, work, workers=workers, label="reference checks",
                                                        console=console)):
        check.results.append(result)
    return checks
