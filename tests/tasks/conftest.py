"""Shared by the task-suite tests: a plain-subprocess pytest runner (no isolation: it only ever runs
the suite's own reference solutions, which we wrote) that returns the sandbox's result type."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from agentloop.sandbox._base import write_files
from agentloop.sandbox._junit import parse_junit
from agentloop.core.types import SandboxResult


class PlainPytest:
    """`run_tests(files, test_files)` like `agentloop.sandbox.Sandbox`, as a bare `python -m pytest`."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s

    def run_tests(self, files: dict[str, str], test_files: list[str], limits: object = None) -> SandboxResult:
        with tempfile.TemporaryDirectory(prefix="agentloop-task-") as tmp:
            work = Path(tmp)
            write_files(work, files)
            junit = work.parent / f"{work.name}-junit.xml"
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *test_files]
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the suite's tests need no plugin; halves start-up
            start = time.perf_counter()
            try:
                proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                return SandboxResult(exit_code=None, timed_out=True, killed_by="timeout", backend="plain")
            tests = parse_junit(junit.read_bytes())[0] if junit.is_file() else []
            junit.unlink(missing_ok=True)
            after = {n: (work / n).read_text(encoding="utf-8") for n in test_files if (work / n).is_file()}
            return SandboxResult(proc.returncode, tests, proc.stdout[-4000:], proc.stderr[-4000:],
                                 duration_s=time.perf_counter() - start, backend="plain", files_after=after)


@pytest.fixture(scope="session")
def plain_pytest() -> PlainPytest:
    return PlainPytest()
