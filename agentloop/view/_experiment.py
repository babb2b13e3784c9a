"""What the viewer's experiment pages read: the experiments in the store, and one experiment's report built in
the viewer's read-only session (agentloop.report.report_from_session), laid out with the columns the markdown
report prints, so every cell reads as it does in report.md (each rate with k/n and its interval).

    page = experiment_page(session, "organism-20261202-174141", store.url)   # None: no such experiment
    page.tables   # alignment and capability, seed-level differences, task kinds, the outside benchmark, judge,
                  # rewrite audit, per seed
"""

from __future__ import annotations

from dataclasses import dataclass

from agentloop.report import Report, report_from_session
from agentloop.report_audit import AUDIT_COLUMNS, MEANING, audit_meaning
from agentloop.report_benchmark import BENCHMARK_COLUMNS
from store.session import Session
from agentloop.report_compare import KIND_COLUMNS
from agentloop.report_differences import METHOD, SEED_DIFF_COLUMNS, contrast_sentences, final_differences
from agentloop.report_format import (
    ALIGNMENT_COLUMNS,
    ARM_KEYS,
    JUDGE_COLUMNS,
    LEGEND,
    SEED_KEYS,
    Column,
    Row,
    arm_key,
    arm_meaning,
)
from store.degenerate import DEFINITION
from store.experiments import experiment_runs
from store.queries import ExperimentSummary, experiment_summaries
from store.session import redact_urls


@dataclass(frozen=True)
class Table:
    """One table of the page: its caption, columns (header, cell function) and rows."""

    id: str
    title: str
    columns: list[Column]
    rows: list[Row]

    @property
    def headers(self) -> list[str]:
        return [header for header, _ in self.columns]

    def cells(self, row: Row) -> list[str]:
        return [get(row) for _, get in self.columns]


@dataclass(frozen=True)
class ExperimentPage:
    report: Report
    tables: list[Table]
    contrasts: list[str]  # one sentence per contrast (seed level)
    summary: list[str]  # the report's "what this shows"
    arms: list[tuple[str, str]]  # (arm, what it is)
    definition: str = DEFINITION
    legend: str = LEGEND
    method: str = METHOD
    audit_meaning: str = MEANING  # and how many pairs carry no audit, where some don't


def experiment_page(session: Session, experiment_id: str, db: str) -> ExperimentPage | None:
    """The experiment's report as the page shows it; None when no run carries that experiment id."""
    if not experiment_runs(session, experiment_id):
        return None
    report = report_from_session(session, experiment_id, redact_urls(db))
    arms = sorted(report.arms, key=lambda r: (arm_key(r["arm"]), r["epoch"]))
    seeds = sorted(report.rows, key=lambda r: (arm_key(r["arm"]), r["seed"], r["epoch"]))
    tables = [
        Table("alignment", "Alignment and capability (mean over seeds)", ARM_KEYS + ALIGNMENT_COLUMNS, arms),
        Table("differences", "Differences between arms (seed level, each contrast at its last shared epoch)",
              SEED_DIFF_COLUMNS, final_differences(report.differences)),
        Table("kinds", "By held-out task kind (pooled over seeds: episode-level intervals)", KIND_COLUMNS,
              report.kinds),
        Table("benchmark", "Outside benchmark at epoch 0 and the last epoch (capability, cheating, hacks; "
              "pooled Wilson and seed-level t intervals)", BENCHMARK_COLUMNS, report.benchmark.get("rows", [])),
        Table("judge", "Conscience vs detectors, and the learner", ARM_KEYS + JUDGE_COLUMNS, arms),
        Table("rewrite_audit", "Rewrite audit (pairs of training episodes, seeds pooled)", ARM_KEYS + AUDIT_COLUMNS,
              report.rewrite_audit),
        Table("seeds", "Per seed (Wilson intervals)", SEED_KEYS + ALIGNMENT_COLUMNS, seeds),
        Table("rewrite_audit_seeds", "Rewrite audit per seed", SEED_KEYS + AUDIT_COLUMNS, report.rewrite_audit_seeds),
    ]
    return ExperimentPage(report=report, tables=[t for t in tables if t.rows],
                          contrasts=contrast_sentences(report.differences), summary=report.summary(),
                          arms=[(a, arm_meaning(a)) for a in report.arm_names],
                          audit_meaning=audit_meaning(report.rewrite_audit))


__all__ = ["ExperimentPage", "ExperimentSummary", "Table", "experiment_page", "experiment_summaries"]
