"""The round lock: at most one training round per run at a time, across processes (and hosts).

Both kinds are released by the OS when the holder dies, so a kill -9 never leaves a stale lock:
- PostgreSQL (scale-out): a session-level `pg_try_advisory_lock(key)` on a connection held for the
  round; the server drops it when that connection closes.
- SQLite: `flock` on `<database file>.learner-run<ID>.lock` beside the database. SQLite already
  requires every writer to share the host and filesystem, so this is as wide as the database itself.
Whoever holds the lock may treat any `running` round of the run as dead (see `round.py`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from agentloop.core.errors import AgentloopError


class RoundBusy(AgentloopError):
    """Another round of this run holds the lock."""


def _advisory_key(run_id: int) -> int:
    """A stable signed 64-bit key for this run (namespaced so other tools' advisory locks don't clash)."""
    return int.from_bytes(hashlib.sha256(f"agentloop-learner-run-{run_id}".encode()).digest()[:8], "big", signed=True)


def lock_file_for(db_url: str, run_id: int) -> Path:
    database = make_url(db_url).database
    if not database or database == ":memory:":
        return Path(tempfile.gettempdir()) / f"agentloop-memory.learner-run{run_id}.lock"
    return Path(database).resolve().with_name(f"{Path(database).name}.learner-run{run_id}.lock")


@contextlib.contextmanager
def round_lock(db_url: str, run_id: int) -> Iterator[None]:
    """Hold the run's round lock for the block, or raise RoundBusy at once (rounds never queue up:
    the scheduler coalesces missed runs instead)."""
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _advisory_key(run_id)}):
                raise RoundBusy(f"a learner round for run {run_id} is already running")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _advisory_key(run_id)})
        engine.dispose()
        return
    path = lock_file_for(db_url, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RoundBusy(f"a learner round for run {run_id} is already running (lock {path})") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
