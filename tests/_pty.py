"""Run a command under a pseudo-terminal of a given size and return everything it showed there.

    out = run_in_pty([sys.executable, "-m", "agentloop.cli", "--version"], cols=100)

stdin, stdout and stderr are all the terminal (as in a user's shell), so rich sizes its output
from it and anything a library writes to fd 1 or 2 would show up in the returned text.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>78]")

# Lines other libraries print at engine start and while a run goes (seen in a new user's terminal
# before the run log existed): vLLM's log format, torch/triton/NUMA warnings, progress bars.
NOISE = [
    re.compile(r"(INFO|WARNING|DEBUG|ERROR) \d\d-\d\d \d\d:\d\d:\d\d \["),  # vLLM's logger format
    re.compile(r"\[W\d{4} |py\.warnings|UserWarning|DeprecationWarning|FutureWarning|warnings\.warn"),
    re.compile(r"reduce_op is deprecated|LD_PRELOAD|set_num_threads|NUMA|oneDNN|Triton"),
    re.compile(r"Creating json from Arrow|checkpoint shards|it/s\]|s/it\]"),
]


def leaked(terminal: str) -> list[str]:
    """The terminal's lines that came from another library (a line naming the log file is the project's)."""
    return [line for line in terminal.splitlines()
            if line.strip() and any(p.search(line) for p in NOISE) and "agentloop.log" not in line]


def run_in_pty(argv: Sequence[str], *, cols: int = 100, rows: int = 40, env: dict[str, str] | None = None,
               cwd: str | None = None, timeout: float = 600) -> tuple[int, str]:
    """(exit code, the terminal's text with ANSI escapes removed and CRLF and CR as LF)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"{argv} did not finish in {timeout}s; so far:\n"
                                   + b"".join(chunks).decode(errors="replace")[-3000:])
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child side closed
                    data = b""
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
    text = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return code, ANSI.sub("", text)  # a redrawn line (carriage return, erase) becomes a line of its own


def agentloop_in_pty(args: Sequence[str], *, cwd: str, cols: int = 100, timeout: float = 900) -> tuple[int, str]:
    """`python -m agentloop.cli ARGS` as a new user's terminal runs it (the pty's size, not the test
    runner's COLUMNS/LINES; no tcmalloc re-exec; no AGENTLOOP_VERBOSE)."""
    import sys

    env = {**os.environ, "AGENTLOOP_NO_PRELOAD": "1", "TERM": "xterm-256color"}
    for key in ("COLUMNS", "LINES", "AGENTLOOP_VERBOSE"):
        env.pop(key, None)
    return run_in_pty([sys.executable, "-m", "agentloop.cli", *args], cols=cols, env=env, cwd=cwd, timeout=timeout)
