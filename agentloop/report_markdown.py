"""The report's markdown write-up: commands, config snapshots, tables, the seed-level differences and what
the numbers show, all from an `agentloop.report.Report`.

    lines = markdown_lines(report, "reports/exp/report.md", plot_path="reports/exp/retention_capability.png")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from agentloop.report_audit import audit_markdown
from agentloop.report_benchmark import benchmark_markdown
from agentloop.report_config import config_snapshot_markdown
from agentloop.report_compare import episode_markdown, kinds_markdown
from agentloop.report_differences import METHOD, SEED_DIFF_COLUMNS, contrast_sentences, final_differences
from agentloop.report_format import (
    ALIGNMENT_COLUMNS,
    ARM_KEYS,
    JUDGE_COLUMNS,
    LEGEND,
    SEED_KEYS,
    arm_key,
    arm_meaning,
    judge_cell,
    markdown_table,
)
from store.degenerate import DEFINITION

if TYPE_CHECKING:
    from agentloop.report import Report


def _provenance(report: Report) -> list[str]:
    """Commit, scenario hash and held-out split of the runs: what pins the settings behind the numbers."""
    p = report.provenance()
    commits = ", ".join(f"`{c[:12]}`" for c in p["commits"]) or "not recorded"
    hashes = ", ".join(f"`{h[:16]}`" for h in p["scenario_sha256"]) or "not recorded"
    lines = [f"Commit {commits}" + (" (with uncommitted changes)" if p["dirty"] else "")
             + f"; scenario sha256 {hashes}; held-out split: {', '.join(p['eval_split'])}."]
    if p["unrecorded_runs"]:
        lines.append(f"Runs {', '.join(map(str, p['unrecorded_runs']))} predate provenance records.")
    return [" ".join(lines), ""]


def _head(report: Report) -> list[str]:
    """Title, arms, command, runs and their configuration snapshots."""
    from agentloop.sandbox import backend_label

    commands = list(dict.fromkeys(r.command for r in report.runs if r.command))
    parts = [f"# agentloop report: {report.kind} `{report.target}`", "",
             f"From the store `{report.db}` alone ({report.split} episodes). Arms: "
             + "; ".join(f"`{a}` = {arm_meaning(a)}" for a in report.arm_names) + ".", "",
             "## Command", "", "```", *(commands or ["(no command recorded)"]), "```", "",
             *_provenance(report),
             "## Runs", "", markdown_table(
                 [("run", lambda r: str(r.id)), ("arm", lambda r: r.arm or "-"), ("seed", lambda r: str(r.seed)),
                  ("status", lambda r: r.status), ("model", lambda r: r.model), ("backend", lambda r: r.backend),
                  ("sandbox", lambda r: backend_label(str(r.config.get("sandbox_backend") or ""))),
                  ("scenario", lambda r: r.scenario_path or "-")], report.runs), "",
             "## Configuration snapshot", "", *config_snapshot_markdown(report.runs)]
    return parts


def _judges(report: Report) -> list[str]:
    if not report.judges:
        return []
    return ["Pooled over every held-out turn of the arm:", "", markdown_table(
        [("arm", lambda kv: kv[0]), ("verdicts", lambda kv: str(kv[1]["n"])),
         ("TP/FP/FN/TN", lambda kv: "/".join(str(kv[1][k]) for k in ("tp", "fp", "fn", "tn"))),
         *[(h, lambda kv, m=m: judge_cell(kv[1], m, "n")) for h, m in (
             ("precision", "precision"), ("recall", "recall"), ("kappa", "kappa"), ("AUROC [95% CI]", "auroc"))]],
        sorted(report.judges.items(), key=lambda kv: arm_key(kv[0]))), ""]


def differences_markdown(report: Report) -> list[str]:
    """The headline comparison: seed-level paired differences at each contrast's last shared epoch."""
    final = final_differences(report.differences)
    if not final:
        return []
    return ["## Differences between arms (seed level)", "", f"Method: {METHOD}. Every epoch's differences are in "
            "report.json (`differences`, `final` marks these).", "", markdown_table(SEED_DIFF_COLUMNS, final), "",
            *[f"- {line}" for line in contrast_sentences(report.differences)], ""]


def markdown_lines(report: Report, path: str | Path, plot_path: str | Path | None = None) -> list[str]:
    """Every line of the write-up at `path` (the plot linked relative to it)."""
    arms = sorted(report.arms, key=lambda r: (arm_key(r["arm"]), r["epoch"]))
    seeds = sorted(report.rows, key=lambda r: (arm_key(r["arm"]), r["seed"], r["epoch"]))
    parts = _head(report)
    parts += ["## Alignment and capability (mean over seeds)", "", f"Outcomes: {DEFINITION}", "", LEGEND, "",
              markdown_table(ARM_KEYS + ALIGNMENT_COLUMNS, arms), "",
              *differences_markdown(report),
              "## Conscience vs detectors, and the learner", "",
              markdown_table(ARM_KEYS + JUDGE_COLUMNS, arms), "",
              *[f"- {line}" for line in report.pair_lines()], "", *_judges(report)]
    parts += kinds_markdown(report.kinds)
    parts += benchmark_markdown(report.benchmark)
    parts += ["## Per seed", "", markdown_table(SEED_KEYS + ALIGNMENT_COLUMNS, seeds), "",
              markdown_table(SEED_KEYS + JUDGE_COLUMNS, seeds), ""]
    parts += audit_markdown(report.rewrite_audit, report.rewrite_audit_seeds)
    if plot_path is not None:
        link = os.path.relpath(Path(plot_path).resolve(), Path(path).resolve().parent)
        parts += ["## Plot", "", f"![retention and capability per epoch]({link})", ""]
    parts += ["## What this shows", "", " ".join(report.summary()), ""]
    if report.notes:
        parts += ["## Notes", "", *[f"- {n}" for n in report.notes], ""]
    parts += episode_markdown(report.episode_differences)
    return parts


__all__ = ["differences_markdown", "markdown_lines"]
