"""The Sandbox interface and the run logic both backends share.

A backend only decides *how* a command is confined (`_confine`); writing the task files,
running pytest, parsing its report, reading the test files back and deleting the temp dir
are the same for all of them and live here.
"""

from __future__ import annotations

import copy
import os
import secrets
import shutil
import stat
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agentloop.core.errors import SandboxError
from agentloop.sandbox._junit import nonce_problem, parse_junit
from agentloop.sandbox._process import Confined, run_confined
from agentloop.sandbox._uids import SANDBOX_GID, sandbox_uid
from agentloop.core.types import SandboxResult, TestOutcome

JUNIT_NAME = "junit.xml"
NONCE_NAME = "nonce"
PYTEST_BOOT = (Path(__file__).with_name("_pytest_boot.py")).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run."""

    timeout_s: float = 20  # wall clock; the whole process tree is killed after it
    cpu_s: int = 20  # RLIMIT_CPU per process (SIGXCPU, then SIGKILL one second later)
    memory_mb: int = 1024  # RLIMIT_AS per process
    file_size_mb: int = 16  # RLIMIT_FSIZE: largest file a process may write (stdout/stderr files too)
    nproc: int = 16  # RLIMIT_NPROC: processes + threads of the sandbox uid (bounds memory: see memory_bound_mb)
    output_bytes: int = 64_000  # stdout and stderr are each cut to this many bytes (head + tail kept)
    disk_mb: int = 64  # total size of the task dir and of /tmp; exceeding it kills the run
    shm_mb: int = 16  # size of the /dev/shm tmpfs (bwrap); / and the rest of /dev are read-only

    def __post_init__(self) -> None:
        for name in ("timeout_s", "cpu_s", "memory_mb", "file_size_mb", "nproc", "output_bytes", "disk_mb",
                     "shm_mb"):
            if getattr(self, name) <= 0:
                raise SandboxError(f"sandbox limit {name} must be > 0, got {getattr(self, name)!r}")

    @property
    def memory_bound_mb(self) -> int:
        """The most memory one bwrap run can hold without a cgroup: every process at its address-space
        cap, plus the sized tmpfs mounts (/tmp, /dev/shm) and the task dir (host tmpfs in the worst case)."""
        return self.nproc * self.memory_mb + 2 * self.disk_mb + self.shm_mb


@dataclass
class RunDir:
    """A fresh temp dir per run: `work` holds the task files (agent-writable), `report` the junit file."""

    root: Path  # root-owned: stdout/stderr files live here
    work: Path
    report: Path
    uid: int | None = None  # the pool uid the run executes as (None: the current user)


class Sandbox(ABC):
    """Runs untrusted code and its tests; every run gets a fresh temp dir that is deleted afterwards."""

    name: str = ""
    drops_privileges: bool = False  # run as a pool uid (set by backends when we are root)
    limits: Limits = Limits()  # what a call without `limits` gets; `with_limits` binds a scenario's

    def with_limits(self, limits: Limits) -> Sandbox:
        """This backend with `limits` as the default of every call (the scenario's `sandbox:` section)."""
        bound = copy.copy(self)
        bound.limits = limits
        return bound

    @abstractmethod
    def _confine(self, argv: list[str], run: RunDir, limits: Limits) -> Confined:
        """How this backend confines `argv` (already absolute: see `_resolve_python`)."""

    def _prepare(self, run: RunDir) -> None:
        """Give the pool uid the task and report dirs (and only those: the run root stays root's)."""
        if run.uid is None:
            return
        # The uid must reach work/ and report/; pytest also lists the parents of its rootdir.
        # Nothing secret is there: stdout/stderr (its own output), work/ and report/.
        os.chmod(run.root, 0o755)
        for dirpath, dirnames, filenames in os.walk(run.work):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, run.uid, SANDBOX_GID, follow_symlinks=False)
        os.chown(run.report, run.uid, SANDBOX_GID)

    def run_tests(self, files: dict[str, str], test_files: list[str], limits: Limits | None = None) -> SandboxResult:
        """Write `files`, run pytest on `test_files`, and return per-test outcomes parsed from junit XML.

        pytest starts from `_pytest_boot.py` under `python -I`, so no file in the work dir can shadow
        or replace it; the report must carry a fresh nonce (see `_outcomes`)."""
        limits = limits or self.limits
        nonce = secrets.token_hex(16)
        with self._run_dir(files) as run:
            hand_over(run, NONCE_NAME, nonce)
            confined = self._confine(self._resolve_python(self._pytest_argv(run, test_files)), run, limits)
            result = run_confined(confined, limits)
            result.backend = self.name
            result.tests = self._outcomes(run.report / JUNIT_NAME, result, nonce)
            result.files_after = read_back(run.work, test_files, limits.file_size_mb << 20)
        return result

    def exec(self, argv: list[str], files: dict[str, str], limits: Limits | None = None) -> SandboxResult:
        """Run any command in the task dir (argv[0] "python" is the sandbox's interpreter); no test parsing."""
        limits = limits or self.limits
        with self._run_dir(files) as run:
            result = run_confined(self._confine(self._resolve_python(argv), run, limits), limits)
            result.backend = self.name
        return result

    def _resolve_python(self, argv: list[str]) -> list[str]:
        """argv[0] "python"/"python3" means the sandbox interpreter (this one, whose pytest we trust)."""
        return [sys.executable, *argv[1:]] if argv and argv[0] in ("python", "python3") else list(argv)

    def _pytest_argv(self, run: RunDir, test_files: list[str]) -> list[str]:
        work, report = self._inside(run.work), self._inside(run.report)
        return [
            # -I: neither the work dir nor PYTHON* variables reach sys.path; the boot appends the work dir last
            "python", "-I", "-B", "-c", PYTEST_BOOT, f"{report}/{NONCE_NAME}", "-q", "-p", "no:cacheprovider",
            "-c", "/dev/null", "--rootdir", work,  # ignore any pytest.ini/pyproject the agent writes
            "--confcutdir", work,  # no conftest.py from above the work dir
            "--import-mode=append",  # test dirs go after stdlib and site-packages: no shadowing of either
            "--continue-on-collection-errors",  # one broken test file must not hide the others' outcomes
            "-o", "junit_family=xunit1",  # xunit1 carries file= so nodeids can be rebuilt
            f"--junitxml={self._inside(run.report)}/{JUNIT_NAME}",
            *test_files,
        ]

    def _inside(self, host_path: Path) -> str:
        """Where a run-dir path appears to the sandboxed process (backends that remap paths override)."""
        return str(host_path)

    def _outcomes(self, junit: Path, result: SandboxResult, nonce: str) -> list[TestOutcome]:
        # The report lives outside the agent-writable task dir, so planted or edited files there
        # cannot stand in for it. Agent code runs inside the pytest process and could still rewrite
        # it: a report without this run's nonce as its suite name was not written by our pytest
        # (result.forged_report says why), and the exit status must agree with the report both ways.
        try:
            data = junit.read_bytes() if junit.is_file() and not junit.is_symlink() else None
        except OSError:
            data = None
        if data is None:
            result.stderr += "\n[agentloop] pytest wrote no junit report: no test outcomes\n"
            return []
        tests, problem = parse_junit(data)
        if problem:
            result.stderr += f"\n[agentloop] junit report unreadable ({problem}): no test outcomes\n"
            return []
        forged = nonce_problem(data, nonce)
        if forged:
            result.forged_report = forged
            return [TestOutcome("<session>", "error", f"report not trusted: {forged}")]
        failures = any(t.status in ("failed", "error") for t in tests)
        if tests and result.exit_code not in (0, None) and not failures:
            tests.append(TestOutcome("<session>", "error",
                                     f"pytest exited {result.exit_code} but the report shows no failure: report not trusted"))
        elif result.exit_code == 0 and failures:
            tests.append(TestOutcome("<session>", "error", "pytest exited 0 but the report shows failures: report not trusted"))
        return tests

    def _run_dir(self, files: dict[str, str]) -> _RunDirContext:
        return _RunDirContext(self, files)


class _RunDirContext:
    def __init__(self, sandbox: Sandbox, files: dict[str, str]) -> None:
        self.sandbox, self.files = sandbox, files

    def __enter__(self) -> RunDir:
        self.uid_hold = sandbox_uid() if self.sandbox.drops_privileges else nullcontext(None)
        uid = self.uid_hold.__enter__()
        root = Path(tempfile.mkdtemp(prefix="agentloop-sbx-"))
        self.run = RunDir(root, root / "work", root / "report", uid)
        try:
            self.run.work.mkdir()
            self.run.report.mkdir()
            write_files(self.run.work, self.files)
            self.sandbox._prepare(self.run)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.run

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.run.root, ignore_errors=True)
        self.uid_hold.__exit__(None, None, None)


def hand_over(run: RunDir, name: str, text: str) -> None:
    """Put a file for the sandboxed program in the report dir, readable by the run's user only.

    The program reads and deletes it before any agent code runs (the report dir is not the work dir)."""
    path = run.report / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    if run.uid is not None:
        os.chown(path, run.uid, SANDBOX_GID)


def sandbox_env(tmpdir: str) -> dict[str, str]:
    """The whole environment sandboxed code sees: no HOME, no inherited secrets, no pytest plugins."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": tmpdir,
            "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def inside_task_dir(rel: str) -> bool:
    """Whether `rel` is a plain relative path that stays in the task dir: not absolute, no `..`, no NUL."""
    p = PurePosixPath(rel)
    return bool(p.parts) and not p.is_absolute() and ".." not in p.parts and "\0" not in rel


def escaping_paths(names: Iterable[str]) -> list[str]:
    """The names in `names` that `write_files` refuses (`../x`, `/etc/x`, `a/../../b`): an agent's extra
    files are checked with this first, so a bad name becomes a finding instead of failing the run."""
    return [name for name in names if not inside_task_dir(name)]


def write_files(work: Path, files: dict[str, str]) -> None:
    """Write relative paths only: a task file may not point outside the task dir."""
    for rel, content in files.items():
        if not inside_task_dir(rel):
            raise SandboxError(f"sandbox file name {rel!r} must be a relative path inside the task dir")
        target = work.joinpath(*PurePosixPath(rel).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def read_back(work: Path, rel_paths: list[str], max_bytes: int) -> dict[str, str]:
    """The test files as the run left them; a missing (deleted) file is absent from the result.

    The agent controlled the dir, so never follow a symlink (it could point at /etc/shadow on the
    host, and this runs as root) and never open a FIFO (it would block): regular files only.
    """
    out: dict[str, str] = {}
    for rel in rel_paths:
        path = work.joinpath(*PurePosixPath(rel).parts)
        if not _inside_without_links(work, path):
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            out[rel] = fh.read(max_bytes).decode("utf-8", errors="replace")
    return out


def _inside_without_links(root: Path, path: Path) -> bool:
    current = root
    for part in path.relative_to(root).parts[:-1]:
        current = current / part
        if current.is_symlink() or not current.is_dir():
            return False
    return True

