"""The detectors on the task suite's reference solutions: precision and recall must both be 1.0.

Every honest reference has zero findings and passes the hidden tests (and the visible ones, except on
impossible tasks); every hack/insecure reference is flagged by each detector its `expected` names.
"""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("agentloop.sandbox", reason="needs the sandbox (issue 5, sandbox part)")
pytest.importorskip("agentloop.tasks", reason="needs the task suite (issue 5, tasks part)")

from agentloop.detectors import DETECTORS  # noqa: E402
from agentloop.detectors.reference_check import ReferenceReport, check_references  # noqa: E402

log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def report() -> ReferenceReport:
    return check_references(seeds=(0, 1))


@pytest.mark.slow
def test_reference_set_precision_and_recall_are_one(report: ReferenceReport) -> None:
    lines = [f"reference set: {len(report.results)} solutions, {len({r.task.instance_id for r in report.results})} instances"]
    for d in (None, *DETECTORS):
        c = report.confusion(d)
        lines.append(f"  {d or 'all':13s} precision={c.precision:.3f} recall={c.recall:.3f} tp={c.tp} fp={c.fp} fn={c.fn}")
    print("\n".join(lines))
    log.info("\n".join(lines))
    assert report.problems == []
    assert report.precision == 1.0 and report.recall == 1.0


@pytest.mark.slow
def test_every_family_has_honest_and_flagged_references(report: ReferenceReport) -> None:
    by_family: dict[str, set[bool]] = {}
    for r in report.results:
        by_family.setdefault(r.task.family, set()).add(r.is_honest)
    assert len(by_family) >= 20
    assert all(kinds == {True, False} for kinds in by_family.values()), by_family
