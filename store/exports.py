"""Exports of the store: turns (with verdicts and findings), preference pairs, training rounds.

    agentloop export 3 --what pairs --format hf --out pairs_ds     # the CLI on top of this module

    from store.exports import resolve_runs, turn_export, pair_export, round_export, Scrubber
    with store.session(readonly=True) as s:
        run_ids = resolve_runs(s, "exp-2026-01-02")          # a run id ("3") or an experiment id
        rows = Scrubber.from_env().clean(pair_export(s, run_ids))

Pairs come out in TRL's conversational preference format: `prompt` the chat messages up to the
answer, `chosen` / `rejected` one assistant message each (the conscience's rewrite / the answer it
judged), plus provenance columns (run, turn, source, the round that first trained on it); trainers
drop columns they do not know. Every string that leaves through these functions should pass a
`Scrubber`: URL passwords become ***, and so does the value of every credential-like environment
variable of this process (API keys, tokens, passwords), wherever it appears.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.experiments import experiment_runs
from store.models import AdapterRow, PreferencePairRow, RunRow, TrainingRoundRow
from store.queries import turn_records
from store.session import StoreError, redact_urls

if TYPE_CHECKING:
    import datasets

__all__ = ["Scrubber", "export_dataset", "export_jsonl", "pair_export", "resolve_runs", "round_export", "turn_export",
           "write_jsonl"]

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.IGNORECASE)
_MIN_SECRET_LEN = 8  # shorter values ("1", "true") would blank out ordinary text
MASK = "***"


@dataclass(frozen=True)
class Scrubber:
    """Removes credentials from exported values: URL passwords, and known secret strings."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, extra: Sequence[str] = ()) -> Scrubber:
        """Secrets = values of credential-like variables in `env` (default os.environ), plus `extra`."""
        env = os.environ if env is None else env
        found = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LEN}
        found |= {s for s in extra if s and len(s) >= _MIN_SECRET_LEN}
        return cls(tuple(sorted(found, key=len, reverse=True)))  # longest first: no partial leftovers

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return redact_urls(value)

    def clean(self, value: Any) -> Any:
        """`value` with every string scrubbed, recursively through lists and dicts (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.clean(v) for v in value]
        if isinstance(value, dict):
            return {self.clean(k) if isinstance(k, str) else k: self.clean(v) for k, v in value.items()}
        if isinstance(value, datetime):
            return value.isoformat()
        return value


def resolve_runs(session: Session, run_or_experiment: str) -> list[int]:
    """Run ids of `run_or_experiment`: a run id, or every run of an experiment id; StoreError if none."""
    if run_or_experiment.isdigit():
        run_id = int(run_or_experiment)
        if session.get(RunRow, run_id) is None:
            raise StoreError(f"no run {run_id} in the store: list runs with `agentloop episodes list`")
        return [run_id]
    runs = experiment_runs(session, run_or_experiment)
    if not runs:
        raise StoreError(f"{run_or_experiment!r} is neither a run id nor an experiment id in the store")
    return [r.id for r in runs]


def _run_columns(session: Session, run_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per run: its name, arm, seed, model and experiment id (never its config or command: URLs, keys)."""
    rows = session.scalars(select(RunRow).where(RunRow.id.in_(list(run_ids))))
    return {r.id: {"run_name": r.name, "arm": r.arm, "run_seed": r.seed, "model": r.model,
                   "experiment": (r.config or {}).get("experiment") if isinstance(r.config, dict) else None}
            for r in rows}


def turn_export(session: Session, run_ids: Sequence[int]) -> list[dict[str, Any]]:
    """One row per turn of the runs: the episode, the turn, its verdict and findings (store.queries.turn_records)."""
    runs = _run_columns(session, run_ids)
    return [{**runs[run_id], **record} for run_id in run_ids for record in turn_records(session, run_id)]


def pair_export(session: Session, run_ids: Sequence[int]) -> list[dict[str, Any]]:
    """One row per preference pair, in TRL's conversational prompt/chosen/rejected format."""
    runs = _run_columns(session, run_ids)
    pair = PreferencePairRow
    rows = session.scalars(select(pair).where(pair.run_id.in_(list(run_ids))).order_by(pair.run_id, pair.id))
    return [{
        "prompt": _messages(row.prompt),
        "chosen": [{"role": "assistant", "content": row.chosen}],
        "rejected": [{"role": "assistant", "content": row.rejected}],
        "pair_id": row.id, "run_id": row.run_id, "turn_id": row.turn_id, "source": row.source,
        "first_round_id": row.first_round_id, "created_at": row.created_at.isoformat(),
        **{k: v for k, v in runs[row.run_id].items() if k in ("arm", "experiment")},
    } for row in rows]


def _messages(prompt: Any) -> list[dict[str, str]]:
    """The stored prompt as chat messages (the store keeps a message list; plain text is one user turn)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]


def round_export(session: Session, run_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The finished training rounds of the runs, with their adapter's path (its folder holds the task data)."""
    rnd = TrainingRoundRow
    rows = session.execute(
        select(rnd, AdapterRow.path).outerjoin(AdapterRow, AdapterRow.round_id == rnd.id)
        .where(rnd.run_id.in_(list(run_ids)), rnd.status == "done").order_by(rnd.run_id, rnd.id)).all()
    return [{"run_id": r.run_id, "round_id": r.id, "adapter_version": r.version, "steps": r.steps,
             "n_task": r.n_task, "n_pairs": r.n_pairs, "n_replay": r.n_replay, "losses": r.losses,
             "adapter_path": path, "finished_at": r.finished_at.isoformat() if r.finished_at else None}
            for r, path in rows]


def write_jsonl(records: Sequence[Mapping[str, Any]], path: str | Path) -> int:
    """Write records as JSON lines (parent folders made); returns the number of rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return len(records)


def export_dataset(session: Session, run_id: int) -> datasets.Dataset:
    """The run's turns as a Hugging Face Dataset (one row per turn), credentials scrubbed ."""
    import datasets  # lazy: heavy import, and only exports need it

    return datasets.Dataset.from_list(Scrubber.from_env().clean(turn_records(session, run_id)))


def export_jsonl(session: Session, run_id: int, path: str | Path) -> int:
    """Write the run's turns as JSON lines to `path`, credentials scrubbed; returns the number of rows."""
    return write_jsonl(Scrubber.from_env().clean(turn_records(session, run_id)), path)
