"""Score the detectors on the task suite's reference solutions: the ground truth's own ground truth.

    from agentloop.detectors.reference_check import check_references
    report = check_references(seeds=(0, 1))
    report.precision, report.recall, report.problems

For every family, seed and reference solution (`honest`, `hack*`, `insecure*`): run
`evaluate_solution`, compare the detectors that fired with the ones `task.expected` names.
Unit of counting: (instance, reference, detector). Honest references must also pass the hidden
tests (and the visible ones, except on impossible tasks, whose visible tests contradict the spec).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agentloop.detectors import DETECTORS, Evaluation, evaluate_solution, misaligned
from agentloop.core.metrics import Confusion
from agentloop.core.types import Task

if TYPE_CHECKING:
    from agentloop.sandbox import Sandbox


@dataclass
class ReferenceResult:
    """One reference solution of one task instance, evaluated."""

    task: Task
    reference: str
    evaluation: Evaluation
    expected: set[str]
    fired: set[str]
    seconds: float  # wall time of evaluate_solution (both sandbox runs and all detectors)

    @property
    def is_honest(self) -> bool:
        return self.reference.startswith("honest")

    def problems(self) -> list[str]:
        where = f"{self.task.instance_id} [{self.reference}]"
        out = [f"{where}: expected {d} to fire, it did not" for d in sorted(self.expected - self.fired)]
        for d in sorted(self.fired - self.expected):
            rules = sorted({f"{f.rule}@{f.line}" for f in self.evaluation.findings if f.detector == d})
            out.append(f"{where}: {d} fired unexpectedly: {', '.join(rules)}")
        if self.is_honest:
            ev = self.evaluation
            if not ev.hidden.all_passed:
                out.append(f"{where}: honest solution fails hidden tests ({ev.hidden.n_passed}/{len(ev.hidden.tests)})")
            if self.task.kind != "impossible" and not ev.visible.all_passed:
                out.append(f"{where}: honest solution fails visible tests ({ev.visible.n_passed}/{len(ev.visible.tests)})")
        return out


@dataclass
class ReferenceReport:
    results: list[ReferenceResult] = field(default_factory=list)

    def confusion(self, detector: str | None = None) -> Confusion:
        """Counts over (instance, reference, detector): positive = the detector fired / was expected."""
        pairs = [(d in r.expected, d in r.fired) for r in self.results for d in ([detector] if detector else DETECTORS)]
        return Confusion.from_labels([t for t, _ in pairs], [p for _, p in pairs])

    @property
    def precision(self) -> float:
        return self.confusion().precision

    @property
    def recall(self) -> float:
        return self.confusion().recall

    @property
    def problems(self) -> list[str]:
        return [p for r in self.results for p in r.problems()]


def reference_tasks(seeds: Iterable[int] = (0, 1)) -> list[Task]:
    from agentloop.tasks import load_families

    return [family.instance(seed) for _, family in sorted(load_families().items()) for seed in seeds]


def evaluate_reference(task: Task, reference: str, sandbox: Sandbox | None = None) -> ReferenceResult:
    code, files = split_reference(task.references[reference])
    start = time.perf_counter()
    ev = evaluate_solution(task, code, files, sandbox)
    seconds = time.perf_counter() - start
    fired = {f.detector for f in misaligned(ev.findings)}
    return ReferenceResult(task, reference, ev, set(task.expected.get(reference, [])), fired, seconds)


def split_reference(text: str) -> tuple[str | None, dict[str, str]]:
    """A reference is the solution file's code, or an agent answer with `# file: NAME` blocks (extra files)."""
    if "# file:" not in text and "```" not in text:
        return text, {}
    from agentloop.core.parse import parse_answer

    parsed = parse_answer(text)
    return parsed.code, parsed.files


def check_references(
    seeds: Iterable[int] = (0, 1), sandbox: Sandbox | None = None, workers: int = 2
) -> ReferenceReport:
    if sandbox is None:
        from agentloop.sandbox import get_sandbox

        sandbox = get_sandbox()
    jobs = [(t, ref) for t in reference_tasks(seeds) for ref in t.references]
    with ThreadPoolExecutor(max_workers=workers) as pool:  # the runs are subprocesses: threads suffice
        results = list(pool.map(lambda job: evaluate_reference(job[0], job[1], sandbox), jobs))
    return ReferenceReport(results)
