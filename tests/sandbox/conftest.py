"""Fixtures for the sandbox suite: the real bwrap backend and a guard that proves the host is unharmed."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentloop.sandbox import BwrapSandbox, Limits
from agentloop.sandbox.resolve import probe_bwrap

# Short limits keep the hostile suite fast; the margin is what killing + cleanup may add.
FAST = Limits(timeout_s=4, cpu_s=3, memory_mb=512, nproc=32, output_bytes=8_000)
MARGIN_S = 3.0


@pytest.fixture(scope="session")
def bwrap() -> BwrapSandbox:
    """The bwrap backend. CI must have it (CI=true: absent bwrap fails); elsewhere a loud skip."""
    sandbox, why = probe_bwrap()
    if sandbox is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the hostile suite under bubblewrap, but: {why}")
        pytest.skip(f"HOSTILE SANDBOX SUITE NOT RUN: bubblewrap unusable here ({why})")
    return sandbox


@dataclass
class HostGuard:
    """A canary file outside the sandbox and a tag to find any process a run leaves behind."""

    canary: Path
    canary_text: str
    tag: str

    def processes_tagged(self) -> list[int]:
        """Host pids whose command line carries this test's tag (forked children inherit it)."""
        pids = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if self.tag.encode() in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    def program(self, code: str) -> tuple[list[str], dict[str, str]]:
        """argv + files that run `code` as a program whose command line carries the tag."""
        return ["python", "prog.py", self.tag], {"prog.py": code}

    def assert_unharmed(self, result, limits: Limits = FAST) -> None:
        assert self.canary.read_text() == self.canary_text, "canary outside the sandbox was changed"
        assert result.duration_s < limits.timeout_s + MARGIN_S, f"run took {result.duration_s:.1f}s"
        time.sleep(0.05)
        assert self.processes_tagged() == [], "the sandbox left processes behind"


@pytest.fixture
def guard(tmp_path: Path) -> HostGuard:
    canary = tmp_path / "canary.txt"
    text = f"canary {uuid.uuid4()}"
    canary.write_text(text)
    return HostGuard(canary, text, f"agentloop-hostile-{uuid.uuid4().hex}")



@pytest.fixture
def fast() -> Limits:
    return FAST
