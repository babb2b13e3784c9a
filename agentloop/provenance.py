"""What a run was made from: the code's commit and the scenario's hash, recorded at run creation.

A reported number is only pre-registered if the settings behind it can be pinned: the report names
the commit (and whether the tree had uncommitted changes) and the sha256 of the scenario text of
every run it reads, and which held-out split (dev or test) the run evaluated.
"""

from __future__ import annotations

import hashlib
import subprocess

from agentloop.core.paths import repo_root


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(repo_root()), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _code_state() -> tuple[str | None, bool | None]:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return commit, (bool(status) if status is not None else None)


# Read when the process imports this module (it starts), not when a run is created: a run created an
# hour into an experiment runs the code the process loaded, whatever was committed since.
COMMIT, DIRTY = _code_state()


def provenance(scenario_text: str) -> dict[str, object]:
    """{commit, dirty, scenario_sha256}; commit and dirty are None outside a git checkout."""
    return {"commit": COMMIT, "dirty": DIRTY, "scenario_sha256": hashlib.sha256(scenario_text.encode()).hexdigest()}
