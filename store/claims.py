"""Episode claims: N runner processes, on any number of machines, split one run's episodes.

A worker takes a *wave* of episodes in one transaction (`claim`), runs them, and takes the next:

- PostgreSQL: `SELECT ... ORDER BY index LIMIT n FOR UPDATE SKIP LOCKED`, then the UPDATE that
  writes the claim; concurrent claimers skip each other's locked rows instead of queueing, and a
  row whose claim another worker committed meanwhile is re-checked and dropped (READ COMMITTED).
- SQLite: the same SELECT + UPDATE inside the store's `BEGIN IMMEDIATE` write transaction, so
  claims are serialized by the database's single write lock.

A claim is a lease: `claimed_by` = the worker id, `claim_expires_at` = now + lease (database
clock on PostgreSQL, so machines with skewed clocks agree). The worker renews it (`renew`) from
a heartbeat thread while it runs. An unfinished episode (status pending/running) is free when
  1. nobody claims it (`claimed_by` NULL: never claimed, or released at a clean stop), or
  2. its lease has expired (the holder died, hung or lost its connection: any machine), or
  3. its holder was a process on *this* machine (same kernel boot and pid namespace) that no
     longer exists (checked in /proc, with the process start time against pid reuse): a crash
     followed by `--resume` or `--join` on the same machine takes over at once, without waiting
     out the lease.
Finished episodes keep `claimed_by` as the record of who ran them.

Every write of a turn checks the claim in its own transaction (`holds`, a row lock on
PostgreSQL), so a worker that lost a claim (paused past its lease) can never add a turn to an
episode another worker took over; (episode, turn index) is also unique in the schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import uuid
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from store.models import EpisodeRow, utcnow

UNFINISHED = ("pending", "running")
DEFAULT_LEASE_S = 60.0


# -- worker identity ----------------------------------------------------------------------------
def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a live pid, from /proc; None if absent."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()  # the command name may hold spaces and parens
    return fields[0], fields[19]  # fields 3 (state) and 22 (starttime) of proc(5)


@lru_cache(maxsize=1)
def local_key() -> str:
    """Who can check a pid: the same kernel boot and pid namespace ('-' without /proc)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            boot = fh.read().strip()
        pidns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return "-"
    return hashlib.sha256(f"{boot}/{pidns}".encode()).hexdigest()[:12]


def worker_id() -> str:
    """`host:localkey:pid:starttime:nonce` (unique per call: two runners in one process differ)."""
    stat = _proc_stat(os.getpid())
    start = stat[1] if stat else "0"
    host = (socket.gethostname() or "host").replace(":", "_")[:40]
    return f"{host}:{local_key()}:{os.getpid()}:{start}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(worker: str) -> bool:
    """True only when `worker` certainly no longer runs: a process of this machine and pid
    namespace whose pid is gone, is a zombie, or now belongs to a newer process. Holders
    elsewhere (or ids in another format) are never judged here: their lease decides."""
    parts = worker.rsplit(":", 4)
    if len(parts) != 5 or parts[1] == "-" or parts[1] != local_key():
        return False
    _host, _key, pid, start, _nonce = parts
    if not pid.isdigit():
        return False
    stat = _proc_stat(int(pid))
    return stat is None or stat[0] in ("Z", "X") or stat[1] != start


# -- time -----------------------------------------------------------------------------------------
def db_now(s: Session) -> dt.datetime:
    """The database server's clock on PostgreSQL (one clock for every machine), else this host's."""
    if s.get_bind().dialect.name == "postgresql":
        value = s.scalar(select(func.now()))
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return utcnow()


def _scoped(query: Select, run_id: int, epoch: int | None, split: str | None) -> Select:
    query = query.where(EpisodeRow.run_id == run_id, EpisodeRow.status.in_(UNFINISHED))
    if epoch is not None:
        query = query.where(EpisodeRow.epoch == epoch)
    if split is not None:
        query = query.where(EpisodeRow.split == split)
    return query


def _live_others(s: Session, run_id: int, worker: str, now: dt.datetime, epoch: int | None,
                 split: str | None) -> tuple[list[int], list[int]]:
    """(ids whose unexpired claim another live worker holds, ids whose holder is a dead local process)."""
    rows = s.execute(_scoped(select(EpisodeRow.id, EpisodeRow.claimed_by), run_id, epoch, split).where(
        EpisodeRow.claimed_by.is_not(None), EpisodeRow.claimed_by != worker,
        EpisodeRow.claim_expires_at >= now)).all()
    dead_holders = {holder for holder in {h for _, h in rows} if holder_is_dead(holder)}
    live = [i for i, h in rows if h not in dead_holders]
    dead = [i for i, h in rows if h in dead_holders]
    return live, dead


# -- claims ---------------------------------------------------------------------------------------
def claim(s: Session, run_id: int, worker: str, n: int, *, lease_s: float = DEFAULT_LEASE_S,
          epoch: int | None = None, split: str | None = None) -> list[EpisodeRow]:
    """Claim up to `n` free unfinished episodes of the run (lowest index first) for `worker`.

    Call inside a write session (`store.session()`); the claim is made when it commits.
    """
    now = db_now(s)
    _live, dead = _live_others(s, run_id, worker, now, epoch, split)
    free = or_(EpisodeRow.claimed_by.is_(None), EpisodeRow.claim_expires_at.is_(None),
               EpisodeRow.claim_expires_at < now, EpisodeRow.id.in_(dead))
    query = _scoped(select(EpisodeRow), run_id, epoch, split).where(
        free, or_(EpisodeRow.claimed_by.is_(None), EpisodeRow.claimed_by != worker))
    query = query.order_by(EpisodeRow.index).limit(n)
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(s.scalars(query).all())
    expires = now + dt.timedelta(seconds=lease_s)
    for row in rows:
        row.claimed_by, row.claim_expires_at = worker, expires
    s.flush()
    return rows


def others_hold(s: Session, run_id: int, worker: str, *, epoch: int | None = None,
                split: str | None = None) -> int:
    """How many unfinished episodes other live workers hold right now (what a worker with nothing
    left to claim waits for, so the episodes of a worker that dies later are still done)."""
    live, _dead = _live_others(s, run_id, worker, db_now(s), epoch, split)
    return len(live)


def renew(s: Session, worker: str, *, lease_s: float = DEFAULT_LEASE_S) -> int:
    """Extend every unfinished claim of `worker`; returns how many it still holds."""
    result = s.execute(update(EpisodeRow).where(EpisodeRow.claimed_by == worker,
                                                EpisodeRow.status.in_(UNFINISHED))
                       .values(claim_expires_at=db_now(s) + dt.timedelta(seconds=lease_s))
                       .execution_options(synchronize_session=False))
    return result.rowcount or 0


def release(s: Session, worker: str, episode_ids: Iterable[int] | None = None) -> int:
    """Give back `worker`'s unfinished claims (all, or those of `episode_ids`) at a clean stop."""
    query = update(EpisodeRow).where(EpisodeRow.claimed_by == worker, EpisodeRow.status.in_(UNFINISHED))
    if episode_ids is not None:
        query = query.where(EpisodeRow.id.in_(list(episode_ids)))
    result = s.execute(query.values(claimed_by=None, claim_expires_at=None)
                       .execution_options(synchronize_session=False))
    return result.rowcount or 0


def holds(s: Session, episode_id: int, worker: str) -> bool:
    """Does `worker` still hold the episode? Locks its row (PostgreSQL) until the transaction ends,
    so a takeover cannot slip in between this check and the caller's writes."""
    holder = s.scalar(select(EpisodeRow.claimed_by).where(EpisodeRow.id == episode_id).with_for_update())
    return holder == worker


__all__ = ["DEFAULT_LEASE_S", "claim", "db_now", "holder_is_dead", "holds", "local_key", "others_hold", "release",
           "renew", "worker_id"]
