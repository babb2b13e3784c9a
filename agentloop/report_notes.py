"""The report's notes on what an experiment's numbers rest on: how many training runs per arm, and the
warm start every arm and the frozen copy start from (what it taught, in rows of each purpose).

    notes = size_notes(runs) + warm_start_notes(session, "organism-20261206-072028")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from store.experiments import experiment_runs

if TYPE_CHECKING:
    from store.session import Session

PURPOSES = ("answer", "judge", "rewrite")  # agentloop.organism.judge_data: the warm start's row kinds


class _Run(Protocol):
    arm: str | None
    seed: int


def size_notes(runs: Sequence[_Run]) -> list[str]:
    """What the number of training runs allows: the sign-flip p's floor, and a plain warning for a run
    too small to be a result (it checks the machinery)."""
    per_arm: dict[str, set[int]] = {}
    for r in runs:
        per_arm.setdefault(r.arm or "-", set()).add(r.seed)
    fewest = min((len(s) for s in per_arm.values()), default=0)
    if not fewest or fewest >= 5:
        return []
    note = (f"{fewest} seed(s) in the smallest arm: the exact sign-flip p of a contrast cannot go below "
            f"{2 / 2 ** fewest:.3g}, and intervals over seeds are wide")
    if fewest <= 2:
        note += "; a run this small checks the machinery, its numbers are not a result"
    return [note]


def warm_start_notes(session: "Session", experiment_id: str) -> list[str]:
    """One note per warm-start run of the experiment (`<id>/warm_start`): its steps and its rows by purpose,
    as the run recorded them (runs.config.warm_start_rows), and the base it reused if it trained none."""
    notes = []
    for run in experiment_runs(session, f"{experiment_id}/warm_start"):
        config: dict[str, Any] = run.config or {}
        ws = (config.get("organism") or {}).get("warm_start") or {}
        rows = config.get("warm_start_rows") or {}
        what = ", ".join(f"{rows[p]} {p}" for p in PURPOSES if rows.get(p)) or "rows not recorded"
        note = (f"warm start (run {run.id}, status {run.status}): {ws.get('steps', '?')} steps on the training "
                f"families' rows ({what}), merged into the base of every arm and of the frozen copy")
        if reused := config.get("reused_base"):
            note += f"; not trained again: {reused} was made from the same inputs ({str(config.get('inputs'))[:12]})"
        notes.append(note)
    return notes
