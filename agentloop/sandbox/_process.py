"""Run one confined command: output to files, a watchdog for wall clock and disk, kill, classify.

Output goes to files, not pipes: a detached grandchild that keeps a pipe open would hang a reader
(measured with the plain-subprocess fallback), while a file never blocks anybody.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentloop.core.errors import SandboxError
from agentloop.core.types import SandboxResult
from agentloop.sandbox._uids import as_uid

_WATCH_INTERVAL_S = 0.25
_SIGNAL_KILLS = {signal.SIGXCPU: "cpu", signal.SIGXFSZ: "filesize"}


@dataclass
class Confined:
    """A fully built command plus how to clean up after it."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    out_dir: Path  # where stdout/stderr files go (not agent-writable)
    watch: Path  # the agent-writable dir whose size limits.disk_mb caps
    user: int | None = None  # switch to this uid/gid before exec (root only)
    group: int | None = None
    reap: Callable[[], None] = lambda: None  # kill whatever the run left behind
    exit_is_128_plus_signal: bool = False  # bwrap reports "child killed by signal N" as exit 128+N
    pass_fds: tuple[int, ...] = ()  # inherited by the command (e.g. bwrap's --seccomp pipe); closed here after start


def prlimit_prefix(limits) -> list[str]:  # limits: agentloop.sandbox.Limits (not imported: cycle)
    """`prlimit ... --` sets the rlimits in the child without a Python preexec_fn (unsafe with threads)."""
    exe = shutil.which("prlimit", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if exe is None:
        raise SandboxError("prlimit not found: install util-linux (apt-get install -y util-linux)")
    return [exe, f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}", f"--as={limits.memory_mb << 20}",
            f"--fsize={limits.file_size_mb << 20}", f"--nproc={limits.nproc}", "--core=0", "--"]


def run_confined(c: Confined, limits) -> SandboxResult:
    """Run `c` to completion or until a limit ends it; never raises for anything the program does."""
    out_path, err_path = c.out_dir / "stdout", c.out_dir / "stderr"
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            argv = as_uid(c.argv, c.user, c.group) if c.user is not None else c.argv
            proc = subprocess.Popen(
                argv, cwd=c.cwd, env=c.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, close_fds=True, pass_fds=c.pass_fds,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start the sandbox command {c.argv[0]!r}: {exc}") from exc
        finally:
            for fd in c.pass_fds:  # the child holds its own copies now
                os.close(fd)
        reason: list[str] = []  # set by the watchdog: "timeout" | "disk"
        done = threading.Event()

        def kill() -> None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            c.reap()

        def watchdog() -> None:
            deadline = start + limits.timeout_s
            while not done.wait(min(_WATCH_INTERVAL_S, max(0.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    reason.append("timeout")
                elif _tree_bytes(c.watch) > limits.disk_mb << 20:
                    reason.append("disk")
                else:
                    continue
                kill()
                return

        watcher = threading.Thread(target=watchdog, name="sandbox-watchdog", daemon=True)
        watcher.start()
        rc = proc.wait()
        done.set()
        watcher.join()
        c.reap()  # the main process ended; take any detached children with it
    duration = time.monotonic() - start

    stdout = truncate(out_path.read_bytes(), limits.output_bytes)
    stderr = truncate(err_path.read_bytes(), limits.output_bytes)
    sig = -rc if rc < 0 else (rc - 128 if c.exit_is_128_plus_signal and 128 < rc < 128 + 65 else None)
    exit_code = -sig if sig else rc
    killed_by = reason[0] if reason else _classify(sig, rc, stdout + stderr)
    return SandboxResult(exit_code=exit_code, stdout=stdout, stderr=stderr, timed_out=reason == ["timeout"],
                         killed_by=killed_by, duration_s=duration)


def _classify(sig: int | None, rc: int, output: str) -> str | None:
    if sig:
        return _SIGNAL_KILLS.get(sig) or signal.Signals(sig).name
    if rc != 0 and re.search(r"\bMemoryError\b", output):
        return "memory"  # RLIMIT_AS makes allocation fail; Python raises MemoryError rather than dying
    if rc != 0 and "File too large" in output:
        return "filesize"  # Python ignores SIGXFSZ, so RLIMIT_FSIZE surfaces as OSError EFBIG
    return None


def truncate(data: bytes, limit: int) -> str:
    """Keep the head and the tail (pytest's summary is at the end) around a marker."""
    if len(data) > limit:
        half = limit // 2
        data = data[:half] + f"\n[... {len(data) - 2 * half} bytes cut ...]\n".encode() + data[-half:]
    return data.decode("utf-8", errors="replace")


def _tree_bytes(root: Path, max_entries: int = 20_000) -> int:
    """Bytes under `root` (no symlinks followed); a dir with absurdly many entries counts as full."""
    total, seen, stack = 0, 0, [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > max_entries:
                return 1 << 62
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total
