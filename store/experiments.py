"""Which runs an experiment or a report covers: experiment runs by arm and seed, their progress.

    from store.experiments import experiment_runs, resolve_target
    with store.session(readonly=True) as s:
        kind, runs = resolve_target(s, "exp-2026-01-02")   # or a run id: "7"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentloop.core.errors import AgentloopError
from store.models import EpisodeRow, EvaluationRow, RunRow, TrainingRoundRow

__all__ = ["done_rounds", "evaluated_epochs", "experiment_run", "experiment_runs", "has_split", "resolve_target"]


def experiment_runs(session: Session, experiment_id: str) -> list[RunRow]:
    """The runs of an experiment (`runs.config["experiment"]`), by id; filtered here: JSON paths differ per backend."""
    runs = session.scalars(select(RunRow).order_by(RunRow.id))
    return [r for r in runs if isinstance(r.config, dict) and str(r.config.get("experiment")) == experiment_id]


def experiment_run(session: Session, experiment_id: str, arm: str, seed: int) -> int | None:
    """The id of the experiment's run for (arm, seed), if it was created already."""
    rows = session.scalars(select(RunRow).where(RunRow.arm == arm, RunRow.seed == seed)).all()
    return next((r.id for r in rows if (r.config or {}).get("experiment") == experiment_id), None)


def evaluated_epochs(session: Session, run_id: int, split: str = "eval") -> set[int]:
    """Epochs of the run with a recorded `evaluations` row of `split` (its extra's; rows without one are eval)."""
    rows = session.execute(select(EvaluationRow.epoch, EvaluationRow.extra).where(EvaluationRow.run_id == run_id))
    return {epoch for epoch, extra in rows if (extra or {}).get("split", "eval") == split}


def done_rounds(session: Session, run_id: int) -> int:
    """How many training rounds of the run finished."""
    return session.scalar(select(func.count()).select_from(TrainingRoundRow).where(
        TrainingRoundRow.run_id == run_id, TrainingRoundRow.status == "done")) or 0


def has_split(session: Session, run_ids: Sequence[int], split: str) -> bool:
    """Whether any episode of the runs belongs to `split` ("train" | "eval" | "benchmark")."""
    return session.scalar(select(EpisodeRow.id).where(EpisodeRow.run_id.in_(list(run_ids)),
                                                      EpisodeRow.split == split).limit(1)) is not None


def resolve_target(session: Session, target: str) -> tuple[Literal["experiment", "run"], list[RunRow]]:
    """An experiment id (its runs) or a run id (that run); AgentloopError naming the experiments otherwise."""
    runs = experiment_runs(session, target)
    if runs:
        return "experiment", runs
    run = session.get(RunRow, int(target)) if target.isdigit() else None
    if run is not None:
        return "run", [run]
    known = sorted({str(r.config["experiment"]) for r in session.scalars(select(RunRow))
                    if isinstance(r.config, dict) and r.config.get("experiment") is not None})
    hint = f"experiments in the store: {', '.join(known)}" if known else "the store has no experiment runs"
    raise AgentloopError(f"no experiment or run {target!r} in the store; pass an experiment id or a run id ({hint})")
