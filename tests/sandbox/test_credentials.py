"""The sandbox's switch to a pool uid happens in the child by `setpriv` (agentloop.sandbox._uids.as_uid), not
by subprocess's `user=`/`group=`: with those CPython 3.11 forks instead of vforking, copying the page tables
of the whole caller, which holds the engine and its model in an experiment. What the program runs as is
unchanged: a pool uid, the sandbox gid, no supplementary groups."""

from __future__ import annotations

import os
import subprocess

import pytest

from agentloop.sandbox import RlimitSandbox
from agentloop.sandbox._uids import SANDBOX_GID, as_uid, pool_uids

CREDENTIALS = "import os; print(os.getuid(), os.getgid(), sorted(os.getgroups()))"


@pytest.mark.skipif(os.geteuid() != 0, reason="switching uids needs root")
def test_a_run_is_a_pool_uid_with_no_groups():
    result = RlimitSandbox().exec(["python", "-c", CREDENTIALS], {})
    uid, gid, groups = result.stdout.split(maxsplit=2)
    assert int(uid) in pool_uids() and int(gid) == SANDBOX_GID and groups.strip() in ("[]", f"[{SANDBOX_GID}]")


def test_runs_are_started_without_a_user_switch_in_subprocess(monkeypatch):
    seen: list[dict] = []
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            seen.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    RlimitSandbox().exec(["python", "-c", "pass"], {})
    assert seen and all(k.get("user") is None and k.get("group") is None and k.get("extra_groups") is None
                        for k in seen)


def test_as_uid_drops_to_uid_and_gid_with_no_groups():
    argv = as_uid(["/bin/true"], 61001, 61000)
    assert argv[0].endswith("setpriv") and argv[1:] == ["--reuid=61001", "--regid=61000", "--clear-groups", "--",
                                                        "/bin/true"]
