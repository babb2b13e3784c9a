"""RlimitSandbox: the fallback where bubblewrap is unavailable. Weaker, and it says so.

A plain child process in a fresh temp dir with rlimits, a scrubbed environment, its own session,
and (as root) a pool uid. It does NOT isolate the network, the host filesystem (anything the
user it runs as may read or write) or other processes, which is why it logs a warning.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid

from agentloop.sandbox._base import Limits, RunDir, Sandbox, sandbox_env
from agentloop.sandbox._process import Confined, prlimit_prefix
from agentloop.sandbox._uids import SANDBOX_GID, dropping_privileges, kill_uid

log = logging.getLogger(__name__)

NOT_ENFORCED = ("network access (including 127.0.0.1)", "reading host files the run's user can read "
                "(home dir, the store, the repo)", "writing or deleting files outside the temp dir that this user "
                "may write", "signals to other processes of the same user")
_TOKEN_VAR = "AGENTLOOP_SANDBOX_RUN"


class RlimitSandbox(Sandbox):
    """rlimits + temp dir + scrubbed env; see NOT_ENFORCED."""

    name = "rlimit"

    def __init__(self, drop_privileges: bool | None = None) -> None:
        # As root, a pool uid makes RLIMIT_NPROC count and stops writes to root's files; it needs
        # the interpreter to be readable by that uid (scripts/setup_sandbox.sh grants it).
        self.drops_privileges = dropping_privileges() if drop_privileges is None else drop_privileges
        log.warning("sandbox backend 'rlimit' (bubblewrap unavailable): NOT enforced: %s. "
                    "Install bubblewrap for isolation: apt-get install -y bubblewrap", "; ".join(NOT_ENFORCED))

    def _confine(self, argv: list[str], run: RunDir, limits: Limits) -> Confined:
        token = uuid.uuid4().hex
        tmp = run.work / ".tmp"
        tmp.mkdir(exist_ok=True)
        if run.uid is not None:
            os.chown(tmp, run.uid, SANDBOX_GID)
        env = {**sandbox_env(str(tmp)), "HOME": str(run.work), _TOKEN_VAR: token}
        reap = (lambda: kill_uid(run.uid)) if run.uid is not None else (lambda: _kill_tagged(token))
        return Confined(argv=[*prlimit_prefix(limits), *argv], cwd=run.work, env=env, out_dir=run.root,
                        watch=run.work, user=run.uid, group=SANDBOX_GID if run.uid is not None else None,
                        reap=reap)


def _kill_tagged(token: str) -> None:
    """Without a uid of its own, a detached child (setsid) escapes the process-group kill; find it by
    the token in its environment instead (best effort: a process can scrub its environ)."""
    needle = f"{_TOKEN_VAR}={token}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
