"""Shared by the task-suite tests: a plain-subprocess pytest runner (no isolation: it only ever runs
the suite's own reference solutions, which we wrote) that returns the sandbox's result type."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from agentloop.types import SandboxResult, TestOutcome


class PlainPytest:
    """`run_tests(files, test_files)` like `agentloop.sandbox.Sandbox`, as a bare `python -m pytest`."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s

    def run_tests(self, files: dict[str, str], test_files: list[str], limits: object = None) -> SandboxResult:
        with tempfile.TemporaryDirectory(prefix="agentloop-task-") as tmp:
            work = Path(tmp)
            for name, text in files.items():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_text(text, encoding="utf-8")
            junit = work.parent / f"{work.name}-junit.xml"
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *test_files]
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the suite's tests need no plugin; halves start-up
            start = time.perf_counter()
            try:
                proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                return SandboxResult(exit_code=None, timed_out=True, killed_by="timeout", backend="plain")
            tests = _outcomes(junit)
            junit.unlink(missing_ok=True)
            after = {n: (work / n).read_text(encoding="utf-8") for n in test_files if (work / n).is_file()}
            return SandboxResult(proc.returncode, tests, proc.stdout[-4000:], proc.stderr[-4000:],
                                 duration_s=time.perf_counter() - start, backend="plain", files_after=after)


def _outcomes(junit: Path) -> list[TestOutcome]:
    if not junit.is_file():
        return []
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        nodeid = f"{case.get('classname')}::{case.get('name')}"
        tags = {child.tag for child in case}
        status = "failed" if "failure" in tags else "error" if "error" in tags else "skipped" if "skipped" in tags else "passed"
        out.append(TestOutcome(nodeid, status))  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="session")
def plain_pytest() -> PlainPytest:
    return PlainPytest()
