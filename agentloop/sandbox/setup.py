"""Make the sandbox interpreter reachable for the sandbox uids: `python -m agentloop.sandbox.setup`.

Root runs sandboxed code as pool uids (see _uids.py), which must read the Python they run. A pyenv
or venv under /root is not reachable (/root is 0700). Rather than opening /root to everyone, grant
only the sandbox gid search permission (x: pass through, no listing, no reading) on each blocking
ancestor dir with a POSIX ACL. Idempotent; prints what it changed.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from agentloop.core.errors import SandboxError
from agentloop.sandbox._uids import SANDBOX_GID
from agentloop.sandbox.bwrap import python_roots

log = logging.getLogger(__name__)


def blocking_dirs(paths: list[str], gid: int = SANDBOX_GID) -> list[Path]:
    """Ancestors of `paths` that a process with group `gid` (and no other privilege) cannot pass through."""
    found: list[Path] = []
    for path in paths:
        for parent in reversed(Path(path).parents):
            st = parent.stat()
            if st.st_mode & stat.S_IXOTH or (st.st_gid == gid and st.st_mode & stat.S_IXGRP):
                continue
            if parent not in found and not _acl_grants(parent, gid):
                found.append(parent)
    return found


def _acl_grants(path: Path, gid: int) -> bool:
    getfacl = shutil.which("getfacl")
    if getfacl is None:
        return False
    out = subprocess.run([getfacl, "-cn", str(path)], capture_output=True, text=True, check=False).stdout
    return any(line.startswith(f"group:{gid}:") and "x" in line.split(":")[2] for line in out.splitlines())


def grant_traversal() -> list[Path]:
    """Add `g:<sandbox gid>:x` ACL entries where needed; returns the dirs changed."""
    if os.geteuid() != 0:
        return []  # not root: the sandbox runs as the current user, who can read its own Python
    roots = [*python_roots(), os.path.realpath(sys.executable)]
    todo = blocking_dirs(roots)
    if todo and shutil.which("setfacl") is None:
        raise SandboxError("setfacl not found: apt-get install -y acl (needed to let the sandbox uid reach Python)")
    for d in todo:
        subprocess.run(["setfacl", "-m", f"g:{SANDBOX_GID}:x", str(d)], check=True)
        log.info("granted the sandbox gid %d search (x) permission on %s", SANDBOX_GID, d)
    return todo


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from agentloop.sandbox.resolve import probe_bwrap

    changed = grant_traversal()
    sandbox, why = probe_bwrap()
    if sandbox is None:
        log.error("sandbox check failed: %s", why)
        return 1
    log.info("bubblewrap sandbox works (python roots: %s; %d dirs changed)", ", ".join(python_roots()), len(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
