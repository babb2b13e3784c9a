"""BwrapSandbox: bubblewrap namespaces + rlimits, run as an unprivileged pool uid.

Inside: a read-only tmpfs root with read-only /usr (and the merged-/usr symlinks), the Python
interpreter and its site-packages (read-only, at their host paths so the venv resolves as on the
host), size-capped tmpfs /tmp and /dev/shm, a private /proc and a read-only /dev (its device nodes
still work), the task dir read-write at /task and the report dir at /report. No network (own net
namespace: only a down loopback), no HOME, no host files beyond those binds, its own pid namespace
(it cannot see or signal host processes, and when its pid 1 dies the kernel kills everything left
inside), and no nested user namespaces (`--disable-userns`: unshare(CLONE_NEWUSER) fails inside).

Memory: tmpfs pages are not part of any process's RLIMIT_AS, so every writable tmpfs is sized and
the rest is read-only; with RLIMIT_NPROC the whole run holds at most `Limits.memory_bound_mb`.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import partial
from pathlib import Path

from agentloop.core.errors import SandboxError
from agentloop.sandbox import _seccomp
from agentloop.sandbox._base import Limits, RunDir, Sandbox, sandbox_env
from agentloop.sandbox._process import Confined, prlimit_prefix
from agentloop.sandbox._uids import SANDBOX_GID, dropping_privileges, kill_uid

TASK_DIR = "/task"
REPORT_DIR = "/report"
INSTALL_HINT = "apt-get install -y bubblewrap (or run scripts/setup_sandbox.sh)"
_MERGED_USR = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The dynamic loader's cache and config: not secret, and without them multiarch libs are not found.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")


def python_roots() -> list[str]:
    """Host dirs the sandbox interpreter needs: the venv, the base install, the real executable's prefix."""
    real_exe_prefix = str(Path(os.path.realpath(sys.executable)).parent.parent)
    roots: list[str] = []
    for p in (sys.prefix, sys.base_prefix, real_exe_prefix):
        if p == "/usr" or p.startswith("/usr/") or any(p == r or p.startswith(r + "/") for r in roots):
            continue  # /usr is bound anyway; nested binds add nothing
        roots.append(p)
    return roots


class BwrapSandbox(Sandbox):
    """The default backend where bubblewrap works (see `get_sandbox`)."""

    name = "bwrap"

    def __init__(self) -> None:
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise SandboxError(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
        self.drops_privileges = dropping_privileges()

    def _inside(self, host_path: Path) -> str:
        return REPORT_DIR if host_path.name == "report" else TASK_DIR

    def _confine(self, argv: list[str], run: RunDir, limits: Limits) -> Confined:
        prefix, bwrap_args = [*prlimit_prefix(limits), self.bwrap], self._bwrap_args(run, limits)
        seccomp_fd = _seccomp.program_fd() if _seccomp.supported() else None  # last: nothing may raise after it
        seccomp = ["--seccomp", str(seccomp_fd)] if seccomp_fd is not None else []
        return Confined(
            argv=[*prefix, *seccomp, *bwrap_args, "--", *argv],
            cwd=run.root, env={"PATH": "/usr/bin:/bin"}, out_dir=run.root, watch=run.work,
            user=run.uid, group=SANDBOX_GID if run.uid is not None else None,
            reap=partial(kill_uid, run.uid) if run.uid is not None else (lambda: None),
            exit_is_128_plus_signal=True, pass_fds=(seccomp_fd,) if seccomp_fd is not None else (),
        )

    def _bwrap_args(self, run: RunDir, limits: Limits) -> list[str]:
        # --unshare-user (not only the -try that --unshare-all implies) is what --disable-userns needs.
        args = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                "--clearenv", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
        for p in _MERGED_USR:
            if os.path.islink(p):
                args += ["--symlink", os.readlink(p), p]
            elif os.path.isdir(p):
                args += ["--ro-bind", p, p]
        for p in _ETC_FILES:
            args += ["--ro-bind-try", p, p]
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.shm_mb << 20), "--tmpfs", "/dev/shm",
                 "--remount-ro", "/dev", "--size", str(limits.disk_mb << 20), "--tmpfs", "/tmp"]
        for p in python_roots():  # after the /tmp tmpfs: a venv under /tmp (a CI clone there) stays visible
            args += ["--ro-bind", p, p]
        args += ["--bind", str(run.work), TASK_DIR, "--bind", str(run.report), REPORT_DIR, "--chdir", TASK_DIR,
                 "--remount-ro", "/"]  # last: every mount point above is made; nothing more may be written there
        for key, value in sandbox_env("/tmp").items():
            args += ["--setenv", key, value]
        return args
