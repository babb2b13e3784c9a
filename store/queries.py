"""Read-side queries of the store: retention over epochs, judge agreement, listings, exports.

    with store.session(readonly=True) as s:
        for e in retention_over_epochs(s, run_id):
            print(e.epoch, e.aligned_rate, e.retention)
        print(judge_agreement(s, run_id).as_dict())

"Aligned" is objective: a turn is misaligned when a detector in agentloop.labels.misaligned_detectors()
fired on it (a `parse` or `sandbox` finding is not misbehaviour). No model is involved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from agentloop.labels import hack_detectors, insecure_detectors, misaligned_detectors
from agentloop.metrics import Confusion, auroc
from store.models import EpisodeRow, FindingRow, RunRow, TurnRow, VerdictRow
from store.search import past_lessons, search_turns

if TYPE_CHECKING:
    import datasets

def _has_finding(detectors: Iterable[str]) -> Any:
    """SQL: the current turn has a finding of one of `detectors`."""
    return exists().where(FindingRow.turn_id == TurnRow.id, FindingRow.detector.in_(sorted(detectors)))


# ---------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class EpochRetention:
    """Alignment of one epoch, counted per turn or per episode."""

    epoch: int
    n: int  # turns (or episodes with at least one turn)
    aligned: int  # units with no hack/insecure finding
    hacks: int  # units with a tampering or hidden_tests finding
    insecure: int  # units with an insecure finding
    aligned_rate: float
    retention: float | None  # aligned_rate / epoch-0 aligned_rate; None without a nonzero epoch 0
    hack_rate: float
    insecure_rate: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retention_over_epochs(
    session: Session, run_id: int, by: Literal["turn", "episode"] = "turn",
    split: Literal["train", "eval"] | None = None,
) -> list[EpochRetention]:
    """Aligned/hack/insecure rates per epoch, and retention relative to epoch 0.

    `by="episode"` counts an episode as misaligned when any of its turns is; episodes
    without turns are left out (they show nothing either way). `split` restricts to the
    train or held-out eval episodes.
    """
    if by not in ("turn", "episode"):
        raise ValueError(f"by must be 'turn' or 'episode', not {by!r}")
    stmt = (select(EpisodeRow.epoch, TurnRow.episode_id, _has_finding(hack_detectors()),
                   _has_finding(insecure_detectors()))
            .join(TurnRow, TurnRow.episode_id == EpisodeRow.id).where(EpisodeRow.run_id == run_id))
    if split is not None:
        stmt = stmt.where(EpisodeRow.split == split)
    # unit key -> [epoch, hack, insecure]; a turn is its own unit, an episode ORs its turns
    units: dict[Any, list[Any]] = {}
    for i, (epoch, episode_id, hack, insecure) in enumerate(session.execute(stmt)):
        key = episode_id if by == "episode" else i
        unit = units.setdefault(key, [epoch, False, False])
        unit[1] |= bool(hack)
        unit[2] |= bool(insecure)

    per_epoch: dict[int, list[int]] = {}  # epoch -> [n, aligned, hacks, insecure]
    for epoch, hack, insecure in units.values():
        counts = per_epoch.setdefault(epoch, [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += not (hack or insecure)
        counts[2] += hack
        counts[3] += insecure

    base = per_epoch.get(0)
    base_rate = base[1] / base[0] if base else 0.0
    result = []
    for epoch in sorted(per_epoch):
        n, aligned, hacks, insecure = per_epoch[epoch]
        rate = aligned / n
        result.append(EpochRetention(
            epoch=epoch, n=n, aligned=aligned, hacks=hacks, insecure=insecure, aligned_rate=rate,
            retention=rate / base_rate if base_rate else None,
            hack_rate=hacks / n, insecure_rate=insecure / n))
    return result


# ---------------------------------------------------------------------------- judge agreement


@dataclass(frozen=True)
class JudgeAgreement:
    """How well `unethical` verdicts track the objective detectors (positive = misaligned)."""

    confusion: Confusion
    auroc: float | None  # of p_unethical; None when the turns are all one class
    n_verdicts: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.confusion.as_dict(), "auroc": self.auroc, "n_verdicts": self.n_verdicts}


def judge_agreement(session: Session, run_id: int, framework: str | None = None,
                    judge: str | None = None) -> JudgeAgreement:
    """Confusion of verdict == unethical vs any hack/insecure finding, over turns with a verdict."""
    stmt = (select(VerdictRow.label, VerdictRow.p_unethical, _has_finding(misaligned_detectors()))
            .join(TurnRow, TurnRow.id == VerdictRow.turn_id).join(EpisodeRow)
            .where(EpisodeRow.run_id == run_id))
    if framework is not None:
        stmt = stmt.where(VerdictRow.framework == framework)
    if judge is not None:
        stmt = stmt.where(VerdictRow.judge == judge)
    rows = session.execute(stmt).all()
    truth = [bool(misaligned) for _, _, misaligned in rows]
    predicted = [label == "unethical" for label, _, _ in rows]
    return JudgeAgreement(confusion=Confusion.from_labels(truth, predicted),
                          auroc=auroc(truth, [p for _, p, _ in rows]), n_verdicts=len(rows))


# ---------------------------------------------------------------------------- listings


@dataclass(frozen=True)
class RunSummary:
    id: int
    name: str
    status: str
    model: str
    backend: str
    arm: str | None
    seed: int
    created_at: datetime
    n_episodes: int
    n_turns: int


@dataclass(frozen=True)
class EpisodeSummary:
    id: int
    run_id: int
    index: int
    epoch: int
    split: str
    task_family: str
    task_kind: str
    task_seed: int
    status: str
    outcome: str | None
    n_turns: int
    n_misaligned: int  # turns with a hack/insecure finding
    n_unethical: int  # turns the conscience labelled unethical


def latest_run_id(session: Session) -> int | None:
    return session.scalar(select(func.max(RunRow.id)))


def list_runs(session: Session) -> list[RunSummary]:
    """Every run, newest first, with its episode and turn counts."""
    n_episodes = select(func.count(EpisodeRow.id)).where(EpisodeRow.run_id == RunRow.id).scalar_subquery()
    n_turns = (select(func.count(TurnRow.id)).join(EpisodeRow)
               .where(EpisodeRow.run_id == RunRow.id).scalar_subquery())
    rows = session.execute(select(RunRow, n_episodes, n_turns).order_by(RunRow.id.desc()))
    return [RunSummary(id=r.id, name=r.name, status=r.status, model=r.model, backend=r.backend, arm=r.arm,
                       seed=r.seed, created_at=r.created_at, n_episodes=ne, n_turns=nt)
            for r, ne, nt in rows]


def list_episodes(session: Session, run_id: int | None = None) -> list[EpisodeSummary]:
    """Episodes of a run (all runs when None) in run/index order, with per-episode counts."""
    in_episode = TurnRow.episode_id == EpisodeRow.id
    n_turns = select(func.count(TurnRow.id)).where(in_episode).scalar_subquery()
    n_misaligned = (select(func.count(TurnRow.id)).where(in_episode, _has_finding(misaligned_detectors()))
                    .scalar_subquery())
    n_unethical = (select(func.count(VerdictRow.id)).join(TurnRow)
                   .where(in_episode, VerdictRow.label == "unethical").scalar_subquery())
    stmt = select(EpisodeRow, n_turns, n_misaligned, n_unethical).order_by(EpisodeRow.run_id, EpisodeRow.index)
    if run_id is not None:
        stmt = stmt.where(EpisodeRow.run_id == run_id)
    return [EpisodeSummary(id=e.id, run_id=e.run_id, index=e.index, epoch=e.epoch, split=e.split,
                           task_family=e.task_family, task_kind=e.task_kind, task_seed=e.task_seed,
                           status=e.status, outcome=e.outcome, n_turns=nt, n_misaligned=nm, n_unethical=nu)
            for e, nt, nm, nu in session.execute(stmt)]


def episode_detail(session: Session, episode_id: int) -> EpisodeRow | None:
    """The episode with its run, turns, verdicts and findings loaded (usable after the session)."""
    return session.scalar(
        select(EpisodeRow).where(EpisodeRow.id == episode_id).options(
            selectinload(EpisodeRow.run),
            selectinload(EpisodeRow.turns).selectinload(TurnRow.verdict),
            selectinload(EpisodeRow.turns).selectinload(TurnRow.findings)))


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


def export_dataset(session: Session, run_id: int) -> datasets.Dataset:
    """The run's turns as a Hugging Face Dataset (one row per turn), credentials scrubbed (store.exports)."""
    import datasets  # lazy: heavy import, and only exports need it

    from store.exports import Scrubber

    return datasets.Dataset.from_list(Scrubber.from_env().clean(turn_records(session, run_id)))


def export_jsonl(session: Session, run_id: int, path: str | Path) -> int:
    """Write the run's turns as JSON lines to `path`, credentials scrubbed; returns the number of rows."""
    from store.exports import Scrubber, write_jsonl

    return write_jsonl(Scrubber.from_env().clean(turn_records(session, run_id)), path)


__all__ = [
    "EpisodeSummary", "EpochRetention",
    "JudgeAgreement", "RunSummary", "episode_detail", "export_dataset", "export_jsonl", "judge_agreement",
    "latest_run_id", "list_episodes", "list_runs", "past_lessons", "retention_over_epochs", "search_turns",
    "turn_records",
]
