"""get_sandbox: pick the backend once per process ("auto" probes bubblewrap, then caches)."""

from __future__ import annotations

import logging
import threading

from agentloop.errors import SandboxError
from agentloop.sandbox._base import Limits, Sandbox
from agentloop.sandbox.bwrap import INSTALL_HINT, BwrapSandbox
from agentloop.sandbox.rlimit import RlimitSandbox

log = logging.getLogger(__name__)

BACKENDS = ("auto", "bwrap", "rlimit")
_PROBE = "import pytest, socket; print('ok')"
_lock = threading.Lock()
_cache: dict[str, Sandbox] = {}


def probe_bwrap() -> tuple[BwrapSandbox | None, str]:
    """A working BwrapSandbox, or None and why not (missing binary, no user namespaces, unreadable python)."""
    try:
        sandbox = BwrapSandbox()
        result = sandbox.exec(["python", "-c", _PROBE], {}, Limits(timeout_s=15))
    except SandboxError as exc:
        return None, str(exc)
    if result.exit_code != 0 or result.stdout.strip() != "ok":
        why = (result.stderr.strip().splitlines() or [f"exit {result.exit_code}"])[-1]
        return None, f"bubblewrap is installed but a probe run failed ({why}); run scripts/setup_sandbox.sh"
    return sandbox, ""


def get_sandbox(backend: str = "auto") -> Sandbox:
    """"auto": bwrap when it works here, else rlimit (with a warning); "bwrap" raises SandboxError if unusable."""
    if backend not in BACKENDS:
        raise SandboxError(f"unknown sandbox backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    with _lock:
        if backend not in _cache:
            _cache[backend] = _resolve(backend)
        return _cache[backend]


def _resolve(backend: str) -> Sandbox:
    if backend == "rlimit":
        return RlimitSandbox()
    sandbox, why = probe_bwrap()
    if sandbox is not None:
        return sandbox
    if backend == "bwrap":
        raise SandboxError(f"sandbox backend 'bwrap' unavailable: {why}. Install it: {INSTALL_HINT}")
    log.warning("bubblewrap unusable (%s); falling back to the rlimit sandbox", why)
    return RlimitSandbox()
