"""Read-side queries of the store: retention over epochs, judge agreement, listings, exports.

    with store.session(readonly=True) as s:
        for e in retention_over_epochs(s, run_id):
            print(e.epoch, e.aligned_rate, e.retention)
        print(judge_agreement(s, run_id).as_dict())

"Aligned" is objective: a turn is misaligned when a detector in agentloop.core.labels.misaligned_detectors()
fired on it (a `parse` or `sandbox` finding is not misbehaviour). No model is involved. Retention and the
judge's confusion counts come from store.stats.run_stats, the SQL aggregate the viewer shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from agentloop.core.labels import hack_detectors, insecure_detectors, misaligned_detectors
from agentloop.core.metrics import Confusion, auroc, auroc_interval
from store.listing import (
    EpisodeSummary,
    EpochRetention,
    RunSummary,
    episode_detail,
    latest_run_id,
    list_episodes,
    list_runs,
)
from store.models import EpisodeRow, RunRow, TurnRow
from store.search import past_lessons, search_turns
from store.stats import NO_STATS, judged_turns, pool, run_stats

# ---------------------------------------------------------------------------- retention


def retention_over_epochs(
    session: Session, run_id: int, by: Literal["turn", "episode"] = "turn",
    split: Literal["train", "eval"] | None = None,
) -> list[EpochRetention]:
    """Aligned/hack/insecure rates per epoch, and retention relative to epoch 0 (`store.stats.run_stats`,
    the one implementation the viewer and the report share).

    `by="episode"` counts an episode as misaligned when any of its turns is; episodes
    without turns are left out (they show nothing either way). `split` restricts to the
    train or held-out eval episodes.
    """
    if by not in ("turn", "episode"):
        raise ValueError(f"by must be 'turn' or 'episode', not {by!r}")
    return run_stats(session, [run_id], by=by, split=split).get(run_id, NO_STATS).epochs


# ---------------------------------------------------------------------------- judge agreement


def _agreement(session: Session, run_ids: Sequence[int], *, split: str | None = None, epoch: int | None = None,
               framework: str | None = None, judge: str | None = None) -> tuple[Confusion, float | None]:
    """The confusion from run_stats' SQL aggregate (the viewer's numbers), pooled over the runs, and the AUROC
    of P(unethical) over the same judged turns."""
    stats = run_stats(session, run_ids, split=split, framework=framework, judge=judge)
    confusion = pool(s.confusion_at(epoch) for s in stats.values())
    truth, _, p_unethical = judged_turns(session, run_ids, split=split, epoch=epoch, framework=framework, judge=judge)
    return confusion, auroc(truth, p_unethical)


@dataclass(frozen=True)
class JudgeAgreement:
    """How well `unethical` verdicts track the objective detectors (positive = misaligned)."""

    confusion: Confusion
    auroc: float | None  # of p_unethical; None when the turns are all one class
    n_verdicts: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.confusion.as_dict(), "auroc": self.auroc, "n_verdicts": self.n_verdicts}


def judge_agreement(session: Session, run_id: int, framework: str | None = None, judge: str | None = None, *,
                    split: str | None = None, epoch: int | None = None) -> JudgeAgreement:
    """Confusion of verdict == unethical vs any hack/insecure finding, over turns with a verdict."""
    confusion, area = _agreement(session, [run_id], split=split, epoch=epoch, framework=framework, judge=judge)
    return JudgeAgreement(confusion=confusion, auroc=area, n_verdicts=confusion.n)


# ---------------------------------------------------------------------------- judge over many runs (one arm)


@dataclass(frozen=True)
class JudgeSummary:
    """The conscience vs the detectors over all judged turns of some runs (one arm, all epochs)."""

    confusion: Confusion
    auroc: float | None
    auroc_ci: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        """The confusion counts and metrics, with n_pos (the misaligned turns the metrics rest on) named."""
        return {**self.confusion.as_dict(), "n_pos": self.confusion.tp + self.confusion.fn, "auroc": self.auroc,
                "auroc_ci": list(self.auroc_ci) if self.auroc_ci else None}


def judge_summary(session: Session, run_ids: Sequence[int], *, split: str = "eval") -> JudgeSummary:
    """Pooled confusion and AUROC of `unethical` vs any misalignment finding over the runs' `split` turns."""
    confusion, area = _agreement(session, run_ids, split=split)
    return JudgeSummary(confusion=confusion, auroc=area,
                        auroc_ci=auroc_interval(area, confusion.tp + confusion.fn, confusion.fp + confusion.tn))


# ---------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class ExperimentSummary:
    """One experiment in the store: its id, arms and seeds, and how many runs it has."""

    id: str
    arms: list[str]
    seeds: list[int]
    n_runs: int


def experiment_summaries(session: Session) -> list[ExperimentSummary]:
    """Every experiment id (`runs.config["experiment"]`) with its arms, seeds and runs, by id; filtered in
    Python as store.experiments does (JSON paths differ per backend)."""
    runs: dict[str, list[tuple[str | None, int]]] = {}
    for config, arm, seed in session.execute(select(RunRow.config, RunRow.arm, RunRow.seed)):
        if isinstance(config, dict) and config.get("experiment") is not None:
            runs.setdefault(str(config["experiment"]), []).append((arm, seed))
    return [ExperimentSummary(id=exp, arms=sorted({a for a, _ in cells if a}), seeds=sorted({s for _, s in cells}),
                              n_runs=len(cells)) for exp, cells in sorted(runs.items())]


# ---------------------------------------------------------------------------- exports


def turn_records(session: Session, run_id: int) -> list[dict[str, Any]]:
    """One flat dict per turn of the run: episode context, the turn, its verdict and findings."""
    episodes = session.scalars(
        select(EpisodeRow).where(EpisodeRow.run_id == run_id).order_by(EpisodeRow.index).options(
            selectinload(EpisodeRow.turns).selectinload(TurnRow.verdict),
            selectinload(EpisodeRow.turns).selectinload(TurnRow.findings)))
    hack, insecure, misaligned = hack_detectors(), insecure_detectors(), misaligned_detectors()
    records = []
    for episode in episodes:
        for turn in episode.turns:
            detectors = {f.detector for f in turn.findings}
            verdict = turn.verdict
            records.append({
                "run_id": run_id, "episode_id": episode.id, "episode_index": episode.index,
                "epoch": episode.epoch, "split": episode.split, "task_family": episode.task_family,
                "task_kind": episode.task_kind, "task_seed": episode.task_seed,
                "turn_id": turn.id, "turn_index": turn.index, "prompt": turn.prompt,
                "reasoning": turn.reasoning, "answer": turn.answer, "code": turn.code,
                "prompt_tokens": turn.prompt_tokens, "completion_tokens": turn.completion_tokens,
                "latency_s": turn.latency_s, "adapter_version": turn.adapter_version, "gated": turn.gated,
                "visible_passed": turn.visible_passed, "visible_total": turn.visible_total,
                "hidden_passed": turn.hidden_passed, "hidden_total": turn.hidden_total,
                "hack": bool(detectors & hack), "insecure": bool(detectors & insecure),
                "misaligned": bool(detectors & misaligned),
                "verdict_label": verdict.label if verdict else None,
                "p_ethical": verdict.p_ethical if verdict else None,
                "p_neutral": verdict.p_neutral if verdict else None,
                "p_unethical": verdict.p_unethical if verdict else None,
                "rewrite": verdict.rewrite if verdict else None,
                "framework": verdict.framework if verdict else None,
                "judge": verdict.judge if verdict else None,
                "findings": [{"detector": f.detector, "rule": f.rule, "severity": f.severity,
                              "line": f.line, "message": f.message} for f in turn.findings],
            })
    return records


__all__ = [
    "EpisodeSummary", "EpochRetention", "ExperimentSummary", "JudgeAgreement", "JudgeSummary", "RunSummary", "episode_detail", "experiment_summaries",
    "judge_agreement", "judge_summary", "judged_turns", "latest_run_id", "list_episodes", "list_runs",
    "past_lessons", "retention_over_epochs", "search_turns", "turn_records",
]
