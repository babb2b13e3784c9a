"""What TAMPER_RUN_DIVERGENCE costs per turn: `evaluate_solution` with the visible calls re-asked vs without.

    .venv/bin/python bench/divergence_cost.py [--seeds 0] [--rounds 3]

Over every reference solution of the task suite (all families, the given seeds), each round evaluates
every turn twice, interleaved so machine noise hits both alike: "before" is today's evaluation without
the check (divergence.assertions_for patched to find nothing, so the hidden-case run gets no probes and
the detector has nothing to judge), "after" the evaluation as shipped. Prints the medians per turn, the
median of the per-turn ratios and the ratio of the totals, plus the extraction of the re-checkable
assertions from the visible tests alone (uncached; the runner's repeat turns hit a cache).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from unittest import mock

from _table import print_table
from agentloop.detectors import evaluate_solution
from agentloop.detectors._visible_probes import _cached as extract_uncached
from agentloop.detectors.reference_check import reference_tasks, split_reference
from agentloop.detectors.tampering import divergence
from agentloop.sandbox import get_sandbox

log = logging.getLogger(__name__)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    sandbox = get_sandbox()
    turns = [(task, *split_reference(text))
             for task in reference_tasks(args.seeds) for text in task.references.values()]
    before: list[float] = []
    after: list[float] = []
    for round_no in range(args.rounds):
        for task, code, files in turns:
            with mock.patch.object(divergence, "assertions_for", lambda task: ()):
                before.append(timed(lambda: evaluate_solution(task, code, files, sandbox)))
            after.append(timed(lambda: evaluate_solution(task, code, files, sandbox)))
        log.info("round %d of %d done", round_no + 1, args.rounds)

    extract_s, probes = [], []
    for task, _, _ in turns:
        key = (tuple(task.visible_tests.items()), task.solution_file.rsplit(".", 1)[0], task.hidden_cases.setup)
        extract_s.append(timed(lambda: extract_uncached.__wrapped__(*key)))
        probes.append(len(divergence.calls(divergence.assertions_for(task))))
    med = statistics.median
    ratios = [a / b for a, b in zip(after, before)]
    rows = [
        ("turns x rounds", f"{len(turns)} x {args.rounds}"),
        ("sandbox backend", getattr(sandbox, "name", type(sandbox).__name__)),
        ("probes per turn, median / max", f"{med(probes):.0f} / {max(probes)}"),
        ("before: evaluation per turn, median (ms)", f"{1000 * med(before):.1f}"),
        ("after: evaluation per turn, median (ms)", f"{1000 * med(after):.1f}"),
        ("after / before, median of per-turn ratios", f"{med(ratios):.3f}x"),
        ("after / before, totals", f"{sum(after) / sum(before):.3f}x"),
        ("extracting the assertions, uncached, median (ms)", f"{1000 * med(extract_s):.2f}"),
    ]
    print_table(rows, value_width=12)


if __name__ == "__main__":
    main()
