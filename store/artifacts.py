"""Where a run's files live, recorded in its store: the run's folder, its task data, its log.

    folder = claim_run_dir(store, run_id, workdir)          # <workdir>/run-<id>, or a fresh sibling
    record_file(store, run_id, "task_data", folder / "task_data.jsonl")   # path + sha256
    path = resolve_file(store, run_id, "task_data")         # checked against the recorded sha256

Two stores used from one working directory both have a run 1; a file found by run number in a
default folder may be the other store's. So every reader resolves a run's files from its own
store, and a writer never takes a folder another store's run already holds.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentloop.core.errors import AgentloopError
from store.models import ArtifactRow
from store.session import Store


class ArtifactError(AgentloopError):
    """A run's recorded file is missing or is not the file the run wrote."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _row(session: Session, run_id: int, kind: str) -> ArtifactRow | None:
    return session.scalar(select(ArtifactRow).where(ArtifactRow.run_id == run_id, ArtifactRow.kind == kind))


def recorded(store: Store, run_id: int, kind: str) -> ArtifactRow | None:
    with store.session(readonly=True) as s:
        row = _row(s, run_id, kind)
        if row is not None:
            s.expunge(row)
        return row


def _record(store: Store, run_id: int, kind: str, path: Path, checksum: str | None, size: int | None) -> None:
    with store.session() as s:
        row = _row(s, run_id, kind)
        if row is None:
            row = ArtifactRow(run_id=run_id, kind=kind, path="")
            s.add(row)
        row.path, row.checksum, row.size = str(path.resolve()), checksum, size


def claim_run_dir(store: Store, run_id: int, workdir: Path) -> Path:
    """The run's folder: the recorded one (a resumed run), else `<workdir>/run-<id>` when nothing is
    there, else `<workdir>/run-<id>-<random>` (that name belongs to another store's run)."""
    if (row := recorded(store, run_id, "run_dir")) is not None:
        return Path(row.path)
    folder = workdir / f"run-{run_id}"
    while folder.exists():
        folder = workdir / f"run-{run_id}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    _record(store, run_id, "run_dir", folder, None, None)
    return folder.resolve()


def record_file(store: Store, run_id: int, kind: str, path: Path, *, checksum: bool = True) -> None:
    """Record `path` as the run's `kind` file; `checksum=False` for a file still growing (a log)."""
    _record(store, run_id, kind, path, sha256_file(path) if checksum else None,
            path.stat().st_size if checksum else None)


def resolve_file(store: Store, run_id: int, kind: str) -> Path:
    """The run's `kind` file as this store recorded it; a clear error when it was never recorded, is
    gone, or is not the file the run wrote (its sha256 differs)."""
    row = recorded(store, run_id, kind)
    if row is None:
        raise ArtifactError(f"run {run_id}: this store ({store.url}) has no {kind.replace('_', ' ')} recorded "
                            "(the run wrote none, or it predates schema 0003, which records run files)")
    path = Path(row.path)
    if not path.is_file():
        raise ArtifactError(f"run {run_id}: its {kind.replace('_', ' ')} file {path} is gone")
    if row.checksum is not None and (found := sha256_file(path)) != row.checksum:
        raise ArtifactError(f"run {run_id}: {path} is not the {kind.replace('_', ' ')} the run wrote "
                            f"(sha256 {found[:12]}..., recorded {row.checksum[:12]}...)")
    return path
