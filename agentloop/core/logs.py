"""Where output goes: the project's own lines on the terminal, everything else in the run's log file.

    agentloop run scenarios/codehack_multiturn.yaml      # other libraries -> agentloop_runs/run-N/agentloop.log
    agentloop run scenarios/codehack_multiturn.yaml -v   # ... and on the terminal too

`setup_logging` (called by the console script) sends log records to the terminal through one rich
console: the project's loggers (agentloop, conscience, learner, store) always; other libraries'
(vllm, torch, transformers, datasets, ...) and python `warnings` only with --verbose, or at WARNING
and above while no run log is open. `run_output(path)` is held while a run builds its engine and
runs its episodes: every log record goes to `path`, and file descriptors 1 and 2 point there too,
so progress bars, prints and C-level noise (vLLM, oneDNN, NUMA) land in the file, while the
project's console keeps writing to the real terminal. With --verbose, fds 1 and 2 are teed to
the terminal and the file instead.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.spinner import Spinner

PROJECT_LOGGERS = ("agentloop", "conscience", "learner", "store", "__main__")
LOG_NAME = "agentloop.log"  # in the run's folder: <workdir>/run-<id>/agentloop.log
CHILD_LOGGER = "subprocess"  # a child process's stderr (learner rounds) is logged under subprocess.<name>
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The project's terminal: every project line (logs, the live progress line, the summary) is printed
# through this one console, so log lines appear above the live line instead of breaking it.
console = Console(stderr=True)


class _State:
    verbose = bool(os.environ.get("AGENTLOOP_VERBOSE"))
    run_log: Path | None = None


def is_project(name: str) -> bool:
    """Whether a logger belongs to this project (its lines always reach the terminal)."""
    return any(name == p or name.startswith(p + ".") for p in PROJECT_LOGGERS)


class TerminalFilter(logging.Filter):
    """Project records pass; other libraries' pass with --verbose, or at WARNING+ when no run log holds them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if is_project(record.name) or _State.verbose:
            return True
        return _State.run_log is None and record.levelno >= logging.WARNING


def setup_logging(level: str | int = "INFO", verbose: bool | None = None) -> None:
    """The console script's logging: one rich handler on the project console, python warnings as records."""
    if verbose is not None:
        _State.verbose = verbose
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=True)
    handler.addFilter(TerminalFilter())
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    logging.captureWarnings(True)  # `warnings.warn` -> the py.warnings logger -> filtered like any library


def set_verbose(verbose: bool) -> None:
    """--verbose: other libraries' logs and output reach the terminal too (they always reach the log file)."""
    _State.verbose = verbose


def is_verbose() -> bool:
    return _State.verbose


def log_child_output(name: str, text: str) -> None:
    """A child process's stderr, line by line, as records of `subprocess.<name>` (third-party rules apply)."""
    child = logging.getLogger(f"{CHILD_LOGGER}.{name}")
    for line in text.splitlines():
        if line.strip():
            child.info("%s", line)


def _flush_c_stdio() -> None:
    """Flush C's stdio buffers, so output a library printed before a redirect lands where it was meant to."""
    with suppress(Exception):
        ctypes.CDLL(None).fflush(None)


class _Tee(threading.Thread):
    """--verbose: copies everything written to a pipe to the terminal and to the log file."""

    def __init__(self, read_fd: int, terminal_fd: int, log_fd: int) -> None:
        super().__init__(name="agentloop-output-tee", daemon=True)
        self.read_fd, self.terminal_fd, self.log_fd = read_fd, terminal_fd, log_fd

    def run(self) -> None:
        while chunk := os.read(self.read_fd, 65536):
            for fd in (self.terminal_fd, self.log_fd):
                with suppress(OSError):
                    os.write(fd, chunk)
        os.close(self.read_fd)
        os.close(self.terminal_fd)  # its own copy; the log fd is closed by run_output after the join


@contextmanager
def run_output(path: Path) -> Iterator[Path]:
    """While held, all log records and everything written to fds 1 and 2 go to `path` (appended);
    the project console writes to the terminal. Restores everything on exit, errors included."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
    root.addHandler(file_handler)
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    _flush_c_stdio()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    terminal = os.fdopen(os.dup(saved[2]), "w", buffering=1, encoding="utf-8", errors="replace")
    log_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    tee: _Tee | None = None
    if _State.verbose:
        read_fd, write_fd = os.pipe()
        tee = _Tee(read_fd, os.dup(saved[2]), log_fd)
        tee.start()
        target = write_fd
    else:
        target = log_fd
    previous_file, previous_width = console._file, console._width  # noqa: SLF001 - restored below
    console.file = terminal
    if not os.isatty(0) and terminal.isatty():  # rich reads the width from fds 0-2; 1 and 2 are the file now
        with suppress(OSError):
            console.width = os.get_terminal_size(terminal.fileno()).columns
    for fd in (1, 2):
        os.dup2(target, fd)
    if tee is not None:
        os.close(target)  # fds 1 and 2 hold the pipe's write end now
    _State.run_log = path
    logging.getLogger(__name__).info("other libraries' logs and output: %s", path)
    try:
        yield path
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        _flush_c_stdio()
        for fd in (1, 2):
            os.dup2(saved[fd], fd)
            os.close(saved[fd])
        if tee is not None:  # the pipe's last write end closed: the tee drains and stops
            tee.join(timeout=10)
        _State.run_log = None
        console.file, console._width = previous_file, previous_width  # noqa: SLF001
        terminal.close()
        os.close(log_fd)
        root.removeHandler(file_handler)
        file_handler.close()


@contextmanager
def status_line(text: str) -> Iterator[Callable[[str], None]]:
    """A spinner line on the project's console, yielding `update(text)`; like `console.status` but
    without rich's redirection of sys.stdout/sys.stderr, which would route every other library's
    Python-level writes (vLLM's log handler among them) through the console to the terminal past
    `run_output`."""
    spinner = Spinner("dots", text=text)
    with Live(spinner, console=console, transient=True, refresh_per_second=8,
              redirect_stdout=False, redirect_stderr=False):
        yield lambda new: spinner.update(text=new)
