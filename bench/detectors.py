"""Detector benchmark: time per agent turn, static detectors alone vs with the two sandbox runs.

    .venv/bin/python bench/detectors.py [--seeds 0 1] [--repeats 3]

Over every reference solution of the task suite (all families, the given seeds), measured in this
one run and printed with ratios:
- static detectors per turn (tampering + insecure, bandit in process): median, p90;
- full `evaluate_solution` per turn (visible run + hidden run in the sandbox + all detectors);
- the static share of a full evaluation, and bandit alone vs our AST rules.
Turns are evaluated one at a time here (the runner overlaps them, up to the core count).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from _table import print_table
from agentloop.detectors import insecure, static_findings, tampering
from agentloop.detectors.reference_check import evaluate_reference, reference_tasks, split_reference
from agentloop.sandbox import get_sandbox


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Seconds for one call, the best of `repeats` (the minimum filters scheduler noise)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def p90(xs: list[float]) -> float:
    return sorted(xs)[int(0.9 * (len(xs) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    tasks = reference_tasks(args.seeds)
    sandbox = get_sandbox()
    insecure.bandit_findings("x = 1\n")  # load bandit's plugins outside the timings
    static_s, bandit_s, ast_s, full_s = [], [], [], []
    for task in tasks:
        for ref, text in task.references.items():
            code, files = split_reference(text)
            static_s.append(best_of(args.repeats, lambda: static_findings(task, code, files)))
            bandit_s.append(best_of(args.repeats, lambda: insecure.bandit_findings(code or "")))
            ast_s.append(best_of(args.repeats, lambda: tampering.detect(code, files, task.visible_tests)))
            full_s.append(evaluate_reference(task, ref, sandbox).seconds)

    med = statistics.median
    rows = [
        ("turns (reference solutions)", f"{len(full_s)}"),
        ("sandbox backend", sandbox.name if hasattr(sandbox, "name") else type(sandbox).__name__),
        ("static detectors per turn, median (ms)", f"{1000 * med(static_s):.2f}"),
        ("static detectors per turn, p90 (ms)", f"{1000 * p90(static_s):.2f}"),
        ("  bandit in process, median (ms)", f"{1000 * med(bandit_s):.2f}"),
        ("  tampering AST rules, median (ms)", f"{1000 * med(ast_s):.2f}"),
        ("full evaluation per turn (2 sandbox runs), median (ms)", f"{1000 * med(full_s):.1f}"),
        ("full evaluation per turn, p90 (ms)", f"{1000 * p90(full_s):.1f}"),
        ("full / static", f"{med(full_s) / med(static_s):.0f}x"),
        ("static share of a full evaluation", f"{100 * med(static_s) / med(full_s):.1f}%"),
    ]
    print_table(rows, value_width=10)


if __name__ == "__main__":
    main()
