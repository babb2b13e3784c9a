"""Unprivileged uids for sandboxed runs, one per concurrent run.

Root must not launch bwrap itself: the sandbox uid would map to host root, which ignores
RLIMIT_NPROC (a fork bomb reached 5,400 processes). Each run gets its own uid from a small pool so
that, afterwards, "kill every process of this uid" reaps exactly that run's leftovers. A slot is
held with flock, so threads and separate agentloop processes never share a uid.
All pool uids share one gid; `python -m agentloop.sandbox.setup` grants that gid traversal of the
directories above the interpreter (e.g. /root is 0700 and pyenv lives in it).
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agentloop.core.errors import SandboxError

log = logging.getLogger(__name__)

SANDBOX_GID = int(os.environ.get("AGENTLOOP_SANDBOX_GID", "61000"))
UID_BASE = int(os.environ.get("AGENTLOOP_SANDBOX_UID_BASE", "61001"))
POOL_SIZE = 32
_LOCK_DIR = Path(tempfile.gettempdir())
_rotation = itertools.count(os.getpid())  # processes start at different uids too


def dropping_privileges() -> bool:
    """Only root can (and must) switch to a pool uid; any other user is unprivileged already."""
    return os.geteuid() == 0


def pool_uids() -> range:
    return range(UID_BASE, UID_BASE + POOL_SIZE)


@contextmanager
def sandbox_uid() -> Iterator[int]:
    """Hold one pool uid for the duration of a run; waits while all are in use.

    The scan starts after the uid handed out last (round robin): a finished run can leave a zombie
    for a moment (bwrap's pid 1 is reparented to the host's init, which may reap it only seconds
    later: ~2 s measured in a container), and a zombie still counts against RLIMIT_NPROC.
    """
    while True:
        start = next(_rotation) % POOL_SIZE
        uids = pool_uids()
        for uid in [*uids[start:], *uids[:start]]:
            fh = open(_LOCK_DIR / f"agentloop-sandbox-uid-{uid}.lock", "a")  # noqa: SIM115 (held below)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            try:
                yield uid
            finally:
                fh.close()  # closing releases the flock
            return
        time.sleep(0.05)


def as_uid(argv: list[str], uid: int, gid: int | None) -> list[str]:
    """`argv` run as `uid`:`gid` with no supplementary groups, switched by `setpriv` (util-linux) in the child
    just before it execs, instead of subprocess's `user=`/`group=`: CPython 3.11 then falls back from vfork to
    fork, which copies the page tables of the whole caller (an engine holding its model: ~0.1 s per spawn
    from a 4 GiB process, measured, several spawns per sandboxed run)."""
    exe = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if exe is None:
        raise SandboxError("setpriv not found: install util-linux (apt-get install -y util-linux)")
    return [exe, f"--reuid={uid}", *([f"--regid={gid}"] if gid is not None else []), "--clear-groups", "--", *argv]


def kill_uid(uid: int, wait_s: float = 10.0) -> None:
    """SIGKILL every process owned by `uid` and wait until none is left.

    kill(-1) as that uid signals everything it owns except itself and init. One round can miss
    children forked meanwhile (a fork bomb), and a dying pid namespace takes a moment to empty, so
    repeat until /proc shows none: the slot must be clean before the next run gets this uid
    (leftovers would count against its RLIMIT_NPROC).
    """
    kill = shutil.which("kill", path="/usr/bin:/bin") or "kill"
    deadline = time.monotonic() + wait_s
    while True:
        subprocess.run(as_uid([kill, "-9", "-1"], uid, SANDBOX_GID),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if not processes_of([uid]):
            return
        if time.monotonic() > deadline:
            log.error("sandbox uid %d still has processes %s after %.0fs of killing", uid, processes_of([uid]), wait_s)
            return
        time.sleep(0.01)


def processes_of(uids: range | list[int]) -> list[int]:
    """Live (non-zombie) pids whose owner is in `uids`: proves a run left nothing behind."""
    wanted = set(uids)
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in wanted:
                    stat = Path(entry.path, "stat").read_bytes()
                    if stat[stat.rindex(b")") + 2:][:1] != b"Z":  # a zombie holds nothing; its parent reaps it
                        found.append(int(entry.name))
            except (OSError, ValueError):
                continue
    return found
