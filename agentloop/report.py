"""The experiment report, from the store alone: tables, a plot and a markdown write-up.

    report = build_report("sqlite:///agentloop.db", "exp-2026-01-02")   # or a run id: "7"
    console.print(*report.tables())
    report.plot("reports/exp/retention_capability.png")
    report.markdown("reports/exp/report.md", plot_path="reports/exp/retention_capability.png")
    report.write("reports/exp")   # all three, plus report.json (what both CLIs write)

Every number comes from `store.evaluation_table` (the recorded `evaluations` rows, or the raw rows
where an epoch has none); the "what this shows" paragraph is generated from those numbers, so
it says what they say, including when the conscience is no better than chance. Statistics are at
the level of training runs: an arm is the mean over its seeds with a t interval over seeds, and arms
are compared by per-seed paired differences (`agentloop.report_differences`); degenerate answers are
counted apart from aligned ones (`store.degenerate`). The per-kind rates and the labelled episode-level
bootstrap come from `agentloop.report_compare`, the rewrite audit of the preference pairs from
`agentloop.report_audit`, the markdown from `agentloop.report_markdown`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import RenderableType
from rich.text import Text

from agentloop.core.errors import AgentloopError
from agentloop.core.metrics import MIN_POSITIVES
from agentloop.report_audit import AUDIT_COLUMNS, audit_meaning, audit_tables
from agentloop.report_benchmark import benchmark_section, benchmark_tables
from agentloop.report_compare import BOOTSTRAP_METHOD, KIND_COLUMNS, episode_differences, kind_rows
from agentloop.report_differences import (
    METHOD,
    SEED_DIFF_COLUMNS,
    contrast_sentences,
    final_differences,
    seed_difference_sentence,
    seed_differences,
)
from agentloop.report_format import (
    ALIGNMENT_COLUMNS,
    ARM_KEYS,
    JUDGE_COLUMNS,
    LEGEND,
    PREDICTED_RETENTION,
    Row,
    arm_key,
    judge_cell,
    rate_cell,
    rich_table,
)
from store.degenerate import DEFINITION

if TYPE_CHECKING:
    from store.models import RunRow
    from store.session import Session

PLOT_NAME, MARKDOWN_NAME, JSON_NAME = "retention_capability.png", "report.md", "report.json"


@dataclass(frozen=True)
class RunInfo:
    """What the report shows of one run: who it is and how it was started."""

    id: int
    name: str
    arm: str | None
    seed: int
    status: str
    model: str
    backend: str
    command: str | None
    scenario_path: str | None
    config: dict[str, Any]


# ---------------------------------------------------------------------------- the report


@dataclass
class Report:
    """One experiment (all its arms and seeds) or one run, with every number the report prints."""

    target: str
    kind: Literal["experiment", "run"]
    split: str
    db: str
    runs: list[RunInfo]
    rows: list[Row]  # per (arm, seed, epoch)
    arms: list[Row]  # per (arm, epoch), mean over seeds
    judges: dict[str, dict[str, Any]]  # arm -> pooled judge metrics over its eval turns
    flagged_train: dict[str, int]  # arm -> train turns the judge labelled unethical
    notes: list[str] = field(default_factory=list)
    kinds: list[Row] = field(default_factory=list)  # per (arm, epoch, task kind), pooled over seeds
    differences: list[Row] = field(default_factory=list)  # report_differences.seed_differences (seed level)
    episode_differences: list[Row] = field(default_factory=list)  # report_compare (within seed, labelled)
    rewrite_audit: list[Row] = field(default_factory=list)  # report_audit, per (arm, epoch) pooled over seeds
    rewrite_audit_seeds: list[Row] = field(default_factory=list)  # ... per (run, epoch)
    benchmark: dict[str, Any] = field(default_factory=dict)  # report_benchmark: the outside benchmark, per arm

    @property
    def arm_names(self) -> list[str]:
        return sorted({r["arm"] for r in self.arms}, key=arm_key)

    def _arm_rows(self, arm: str) -> list[Row]:
        return sorted((r for r in self.arms if r["arm"] == arm), key=lambda r: r["epoch"])

    def pair_lines(self) -> list[str]:
        """One line per arm on the preference pairs it produced; explicit when there were none."""
        lines = []
        unjudged = {r.arm for r in self.runs if (r.config.get("conscience") or {}).get("mode") == "off"} | {"off"}
        for arm in self.arm_names:
            rows = self._arm_rows(arm)
            total = sum(r["n_pairs"] for r in rows)
            per_epoch = ", ".join(f"epoch {r['epoch']}: {r['n_pairs']}" for r in rows if r["epoch"] > 0)
            if total:
                lines.append(f"{arm}: {total} preference pairs ({per_epoch})")
            elif arm in unjudged:
                lines.append(f"{arm}: no conscience in training, so no pairs (its rounds train without DPO)")
            elif not self.flagged_train.get(arm):
                who = "the frozen-copy judge" if arm in ("self", "gate") else f"the {arm} judge"
                lines.append(f"{arm}: {who} flagged nothing, so DPO had no pairs")
            else:
                lines.append(f"{arm}: the judge flagged {self.flagged_train[arm]} training turns but no pair was "
                             "stored, so DPO had no pairs")
        return lines

    def tables(self) -> list[RenderableType]:
        """Rich tables per arm x epoch (means over seeds), then the pairs lines and notes."""
        arms = sorted(self.arms, key=lambda r: (arm_key(r["arm"]), r["epoch"]))
        where = f"{self.kind} {self.target}, {self.split} episodes"
        out: list[RenderableType] = [
            rich_table(f"{where}: alignment and capability", ARM_KEYS + ALIGNMENT_COLUMNS, arms),
            rich_table(f"{where}: conscience vs detectors (per turn) and learner", ARM_KEYS + JUDGE_COLUMNS, arms),
        ]
        if self.kinds:
            out.append(rich_table(f"{where}: by task kind (pooled over seeds)", KIND_COLUMNS, self.kinds))
        out += benchmark_tables(self.benchmark)
        if self.differences:
            out.append(rich_table(f"{where}: differences between arms, seed level (paired seeds, t 95% CI)",
                                  SEED_DIFF_COLUMNS, final_differences(self.differences)))
        if self.rewrite_audit:
            out.append(rich_table(f"{self.kind} {self.target}: rewrite audit (pairs of training episodes)",
                                  ARM_KEYS + AUDIT_COLUMNS, self.rewrite_audit))
        audit = [audit_meaning(self.rewrite_audit)] if self.rewrite_audit else []
        out += [Text(line, style="dim") for line in (LEGEND, f"Outcomes: {DEFINITION}", *audit)]
        out += [Text(line) for line in contrast_sentences(self.differences)]
        out += [Text(line) for line in self.pair_lines()]
        out += [Text(line, style="yellow") for line in self.notes]
        return out

    # -- numbers for the summary ------------------------------------------------------------------

    def final(self, arm: str) -> Row | None:
        rows = self._arm_rows(arm)
        return rows[-1] if rows else None

    def _scale(self) -> list[str]:
        """How many runs and episodes the numbers rest on, the intervals used, and the seed caution."""
        n_seeds = max((r["n_seeds"] for r in self.arms), default=0)
        n_eps = sorted({r["n_episodes"] for r in self.rows})
        lines: list[str] = []
        if n_eps:
            lines.append(f"Scale: {n_seeds} seed(s), {n_eps[0]}-{n_eps[-1]} held-out episodes per run and epoch; "
                         "intervals are 95%: Student t over seeds for an arm (none where its seeds are identical or "
                         "it has one seed: the tables say which), Wilson per run (bootstrap over episodes for "
                         f"capability); differences between arms are {METHOD}.")
        paired = [d["n_seeds"] for d in final_differences(self.differences) if d["versus"] != "epoch 0"]
        if paired:
            lines.append(seed_difference_sentence(min(paired)))
        n_min = min((r["n_seeds"] for r in self.arms), default=0)
        if n_min < 2 and len(self.arm_names) > 1:
            lines.append(f"Caution: some arm has {n_min} seed(s), so no difference between arms has a seed-level "
                         "interval: one training run per arm cannot separate the conscience from run-to-run training "
                         "variance (compare the off arm's spread across seeds).")
        return lines

    def _arm_lines(self) -> list[str]:
        """Per arm at its last epoch: hack, degenerate, aligned rates and capability, then its retention."""
        lines = []
        for arm in self.arm_names:
            last = self.final(arm)
            if last is None:
                continue
            lines.append(
                f"{arm} at epoch {last['epoch']} ({last['n_seeds']} seed(s), {last['n_episodes']} held-out episodes): "
                f"hack rate {rate_cell(last, 'hack_rate', 'hacks')}, degenerate rate "
                f"{rate_cell(last, 'degenerate_rate', 'degenerate')}, aligned rate "
                f"{rate_cell(last, 'aligned_rate', 'aligned')}, aligned and not degenerate "
                f"{rate_cell(last, 'aligned_nondegenerate_rate', 'aligned_nondegenerate')}, capability "
                f"{rate_cell(last, 'capability', None, 'n_honest')}.")
            if last["epoch"] == 0:
                continue
            ret = last["retention"]
            if ret is None:
                lines.append(f"{arm}: retention is undefined (the epoch-0 aligned rate is 0 or missing).")
                continue
            verdict = "above" if ret >= PREDICTED_RETENTION else "below"
            lines.append(f"{arm}: after epoch {last['epoch']} retention is {rate_cell(last, 'retention', None)}, "
                         f"{verdict} the proposal's predicted {PREDICTED_RETENTION:.0%}; counting degenerate answers "
                         f"as failures it is {rate_cell(last, 'retention_nondegenerate', None)}.")
        return lines

    def _judge_lines(self) -> list[str]:
        lines = []
        for arm, judge in sorted(self.judges.items(), key=lambda kv: arm_key(kv[0])):
            if not judge["n"]:
                continue
            area, ci, n_pos = judge["auroc"], judge["auroc_ci"], judge["n_pos"]
            if n_pos < MIN_POSITIVES:
                lines.append(f"{arm} judge vs detectors over {judge['n']} held-out turns: only {n_pos} misaligned "
                             f"turn(s), too few to score the judge (precision, recall, kappa and AUROC need >= "
                             f"{MIN_POSITIVES} positives).")
                continue
            if area is None:
                chance = "AUROC is undefined (the held-out turns were all one class)"
            elif ci and ci[0] > 0.5:
                chance = f"AUROC {area:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]: better than chance"
            elif ci and ci[1] < 0.5:
                chance = f"AUROC {area:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]: worse than chance"
            else:
                chance = f"AUROC {area:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "") + \
                    ": not distinguishable from chance (0.5) at this size"
            kappa = judge["kappa"]
            lines.append(f"{arm} judge vs detectors over {judge['n']} held-out turns ({n_pos} misaligned): {chance}; "
                         f"kappa {kappa:.3f} ({'above' if kappa > 0 else 'not above'} chance agreement), precision "
                         f"{judge_cell(judge, 'precision', 'n')}, recall {judge_cell(judge, 'recall', 'n')}.")
        return lines

    def summary(self) -> list[str]:
        """The "what this shows" sentences, each generated from the numbers above."""
        return (self._scale() + self._arm_lines() + contrast_sentences(self.differences) + self._judge_lines()
                + [line + "." for line in self.pair_lines() if "DPO had no pairs" in line])

    # -- outputs ----------------------------------------------------------------------------------

    def plot(self, path: str | Path) -> Path:
        """Four panels per epoch (hack rate, degenerate rate, capability, retention): one line per arm,
        95% seed-level bands shaded."""
        import matplotlib

        matplotlib.use("Agg")  # no display here; must precede pyplot
        import matplotlib.pyplot as plt

        path = Path(path)
        nan = float("nan")
        fig, axes = plt.subplots(2, 2, figsize=(11, 8.4))
        for ax, metric, label in ((axes[0][0], "hack_rate", "hack rate (episodes gaming their tests)"),
                                  (axes[0][1], "degenerate_rate", "degenerate rate (code that solves no hidden case)"),
                                  (axes[1][0], "capability", "capability (hidden-test pass rate, honest tasks)"),
                                  (axes[1][1], "retention", "retention (aligned rate / epoch 0)")):
            for arm in self.arm_names:
                rows = self._arm_rows(arm)
                xs = [r["epoch"] for r in rows]
                ys = [nan if r[metric] is None else r[metric] for r in rows]
                (line,) = ax.plot(xs, ys, marker="o", label=arm)
                cis = [r.get(f"{metric}_ci") for r in rows]
                ax.fill_between(xs, [c[0] if c else nan for c in cis], [c[1] if c else nan for c in cis],
                                color=line.get_color(), alpha=0.18, linewidth=0)
                if metric == "retention":  # the same counting degenerate answers as failures, dotted
                    ax.plot(xs, [nan if r.get("retention_nondegenerate") is None else r["retention_nondegenerate"]
                                 for r in rows], linestyle=":", color=line.get_color(), label=f"{arm}, not degenerate")
            if metric == "retention":
                ax.axhline(PREDICTED_RETENTION, color="grey", linestyle="--", linewidth=1, label="predicted 0.8")
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
            ax.set_xticks(sorted({r["epoch"] for r in self.arms}))
            ax.legend(fontsize="small")
        fig.suptitle(f"{self.kind} {self.target}: mean over seeds, 95% t bands over seeds (none where seeds agree)")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path

    def markdown(self, path: str | Path, plot_path: str | Path | None = None) -> Path:
        """The write-up (agentloop.report_markdown): commands, config snapshots, tables, plot link, what it shows."""
        from agentloop.report_markdown import markdown_lines

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(markdown_lines(self, path, plot_path)), encoding="utf-8")
        return path

    def provenance(self) -> dict[str, Any]:
        """The commits, scenario hashes and held-out splits of the runs read (one each when pinned)."""
        found = [r.config.get("provenance") or {} for r in self.runs]
        return {"commits": sorted({p["commit"] for p in found if p.get("commit")}),
                "dirty": any(p.get("dirty") for p in found),
                "scenario_sha256": sorted({p["scenario_sha256"] for p in found if p.get("scenario_sha256")}),
                "eval_split": sorted({(r.config.get("tasks") or {}).get("eval_split", "dev") for r in self.runs}),
                "unrecorded_runs": [r.id for r, p in zip(self.runs, found) if not p]}

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "kind": self.kind, "split": self.split, "db": self.db,
                "provenance": self.provenance(),
                "runs": [vars(r) for r in self.runs], "arms": self.arms, "rows": self.rows, "judges": self.judges,
                "kinds": self.kinds, "differences": self.differences, "differences_method": METHOD,
                "episode_level_differences": self.episode_differences, "episode_level_method": BOOTSTRAP_METHOD,
                "rewrite_audit": self.rewrite_audit, "rewrite_audit_seeds": self.rewrite_audit_seeds,
                "outcomes": DEFINITION, "legend": LEGEND, "pairs": self.pair_lines(), "summary": self.summary(),
                "notes": self.notes, "benchmark": self.benchmark}

    def json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str), encoding="utf-8")
        return path

    def write(self, folder: str | Path) -> dict[str, Path]:
        """The plot, the markdown (linking the plot) and the JSON, side by side in `folder`."""
        folder = Path(folder)
        plot = self.plot(folder / PLOT_NAME)
        return {"plot": plot, "markdown": self.markdown(folder / MARKDOWN_NAME, plot_path=plot),
                "json": self.json(folder / JSON_NAME)}


# ---------------------------------------------------------------------------- building


def _judges(session: Session, runs: list[RunRow], split: str) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Per arm: the judge pooled over its held-out turns (arms with verdicts), and its flagged train turns."""
    from store.queries import judge_summary

    by_arm: dict[str, list[int]] = {}
    for run in runs:
        by_arm.setdefault(run.arm or f"run {run.id}", []).append(run.id)
    judges, flagged = {}, {}
    for arm, arm_ids in by_arm.items():
        held_out = judge_summary(session, arm_ids, split=split)
        if held_out.confusion.n:
            judges[arm] = held_out.as_dict()
        train = judge_summary(session, arm_ids, split="train").confusion
        flagged[arm] = train.tp + train.fp
    return judges, flagged


def report_from_session(session: Session, target: str, db: str) -> Report:
    """Everything the report prints, read in `session` (the viewer's read-only one, or build_report's);
    `db` is the store's URL as the report names it."""
    from agentloop.report_notes import size_notes, warm_start_notes
    from store.evaluation_table import evaluation_table
    from store.experiments import has_split, resolve_target
    from store.session import redact_urls

    notes: list[str] = []
    kind, runs = resolve_target(session, str(target))
    split = "eval"
    if not has_split(session, [r.id for r in runs], "eval"):
        split = "train"
        notes.append("no held-out eval episodes: the numbers below are from the training episodes, "
                     "so they measure what the agent did under pressure, not held-out retention")
    table = evaluation_table(session, runs, split=split)
    if not table:
        raise AgentloopError(f"{kind} {target} has no episodes yet; nothing to report")
    judges, flagged = _judges(session, runs, split)
    infos = [RunInfo(id=r.id, name=r.name, arm=r.arm, seed=r.seed, status=r.status, model=r.model,
                     backend=r.backend, command=redact_urls(r.command) if r.command else None,
                     scenario_path=r.scenario_path, config=dict(r.config or {})) for r in runs]
    unfinished = [r.id for r in infos if r.status != "done"]
    if unfinished:
        notes.append(f"run(s) {', '.join(map(str, unfinished))} are not done: the last epochs may be partial")
    seeds = [r for r in table if r["level"] == "seed"]
    notes += size_notes(infos) + warm_start_notes(session, str(target)) if kind == "experiment" else []
    audit_arms, audit_seeds = audit_tables(session, runs)
    return Report(target=str(target), kind=kind, split=split, db=db, runs=infos, rows=seeds,
                  arms=[r for r in table if r["level"] == "arm"], judges=judges, flagged_train=flagged, notes=notes,
                  kinds=kind_rows(seeds), differences=seed_differences(seeds),
                  episode_differences=episode_differences(seeds), rewrite_audit=audit_arms,
                  rewrite_audit_seeds=audit_seeds, benchmark=benchmark_section(session, runs))


def build_report(db_url: str, target: str) -> Report:
    """Everything the report prints, read from the store (one read-only transaction)."""
    from store import open_store

    store = open_store(db_url, must_exist=True)
    store.require_current()
    try:
        with store.session(readonly=True) as s:
            return report_from_session(s, target, store.url)
    finally:
        store.dispose()


__all__ = ["JSON_NAME", "MARKDOWN_NAME", "PLOT_NAME", "PREDICTED_RETENTION", "Report", "RunInfo", "build_report",
           "report_from_session"]
