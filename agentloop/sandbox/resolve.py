"""get_sandbox / sandbox_for: pick the backend once per process ("auto" probes bubblewrap, then caches).

"auto" never degrades silently: where bubblewrap is unusable it raises, and the weak rlimit
backend (network, the repo and the store reachable) runs only when asked for by name
(`sandbox.backend: rlimit`) or with `allow_weak=True` (the CLI's `--allow-weak-sandbox`). The
backend a run used is recorded with the run (`runs.config["sandbox_backend"]`) and shown by the
run summary, the report and the viewer.

Backends are registered by name (`@register_sandbox("name")` on a factory `() -> Sandbox`); a
third-party package adds one through the entry-point group `agentloop.sandboxes`, and a scenario
names it in `sandbox.backend`. "auto" is not a backend but this resolver's choice between the two.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import Protocol

from agentloop.core.errors import ConfigError, SandboxError
from agentloop.core.registry import Registry
from agentloop.sandbox._base import Limits, Sandbox
from agentloop.sandbox.bwrap import INSTALL_HINT, BwrapSandbox
from agentloop.sandbox.rlimit import RlimitSandbox

log = logging.getLogger(__name__)

SandboxFactory = Callable[[], Sandbox]
SANDBOXES: Registry[SandboxFactory] = Registry("sandbox backend", group="agentloop.sandboxes")
register_sandbox = SANDBOXES.register
AUTO = "auto"
WEAK_BACKENDS = frozenset({"rlimit"})
MIN_BWRAP = (0, 8, 0)  # --disable-userns (no nested user namespaces) appeared in bubblewrap 0.8.0
_PROBE = "import pytest, socket; print('ok')"
_lock = threading.Lock()
_cache: dict[tuple[str, bool], Sandbox] = {}


class SandboxSettings(Protocol):
    """The scenario's `sandbox:` section (agentloop.config.sandbox.SandboxSettings), as far as it is read here."""

    backend: str
    timeout_s: float
    memory_mb: int


def backend_label(name: str) -> str:
    """How summaries, reports and the viewer name a backend: the weak one says what it lacks."""
    if WEAK_BACKENDS & set(name.split("+")):  # "bwrap+rlimit": sessions of a resumed run differed
        return f"{name} (weak: no network or filesystem isolation)"
    return name or "-"


def bwrap_version() -> tuple[int, ...] | None:
    """The installed bubblewrap's version (None if absent or unreadable)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(g or 0) for g in found.groups()) if found else None


def probe_bwrap() -> tuple[BwrapSandbox | None, str]:
    """A working BwrapSandbox, or None and why not (missing binary, too old, no user namespaces, unreadable python)."""
    try:
        sandbox = BwrapSandbox()
        version = bwrap_version()
        if version is not None and version < MIN_BWRAP:
            return None, (f"bubblewrap {'.'.join(map(str, version))} is older than "
                          f"{'.'.join(map(str, MIN_BWRAP))} (needed for --disable-userns)")
        result = sandbox.exec(["python", "-c", _PROBE], {}, Limits(timeout_s=15))
    except SandboxError as exc:
        return None, str(exc)
    if result.exit_code != 0 or result.stdout.strip() != "ok":
        why = (result.stderr.strip().splitlines() or [f"exit {result.exit_code}"])[-1]
        return None, f"bubblewrap is installed but a probe run failed ({why}); run scripts/setup_sandbox.sh"
    return sandbox, ""


def get_sandbox(backend: str = "auto", *, allow_weak: bool = False) -> Sandbox:
    """"auto": bwrap when it works here; otherwise SandboxError, or (allow_weak) the rlimit backend with a
    warning. "bwrap" raises SandboxError if unusable; "rlimit" is the weak backend, asked for by name."""
    if backend != AUTO:
        try:
            SANDBOXES.get(backend)
        except ConfigError as exc:  # a sandbox problem, whatever the registry calls it
            raise SandboxError(f"{exc} (or {AUTO!r})") from exc
    key = (backend, allow_weak and backend == AUTO)
    with _lock:
        if key not in _cache:
            _cache[key] = _resolve(*key)
        return _cache[key]


def limits_for(settings: SandboxSettings) -> Limits:
    """The scenario's limits: its wall clock (CPU seconds follow it) and its address-space cap."""
    return Limits(timeout_s=settings.timeout_s, cpu_s=max(1, math.ceil(settings.timeout_s)),
                  memory_mb=settings.memory_mb)


def sandbox_for(settings: SandboxSettings, *, allow_weak: bool = False) -> Sandbox:
    """The backend a scenario asks for, with its `timeout_s`/`memory_mb` bound to every call."""
    return get_sandbox(settings.backend, allow_weak=allow_weak).with_limits(limits_for(settings))


@register_sandbox("bwrap")
def _bwrap() -> Sandbox:
    sandbox, why = probe_bwrap()
    if sandbox is None:
        raise SandboxError(f"sandbox backend 'bwrap' unavailable: {why}. Install it: {INSTALL_HINT}")
    return sandbox


register_sandbox("rlimit")(RlimitSandbox)


def _resolve(backend: str, allow_weak: bool = False) -> Sandbox:
    if backend != AUTO:
        return SANDBOXES.get(backend)()
    sandbox, why = probe_bwrap()
    if sandbox is not None:
        return sandbox
    if not allow_weak:
        raise SandboxError(
            f"bubblewrap is unusable here ({why}), and the rlimit fallback does not isolate the network or "
            f"the host's files (the repo, the store). Fix bubblewrap ({INSTALL_HINT}), or accept the weak "
            "sandbox: set `sandbox: {backend: rlimit}` in the scenario or pass --allow-weak-sandbox")
    log.warning("bubblewrap unusable (%s); --allow-weak-sandbox: falling back to the rlimit sandbox", why)
    return RlimitSandbox()
