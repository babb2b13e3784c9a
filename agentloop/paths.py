"""Where agentloop keeps its files: the cache home, the embedded model, the default store."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

DEFAULT_DB_URL = "sqlite:///agentloop.db"


def home() -> Path:
    """$AGENTLOOP_HOME, default ~/.cache/agentloop."""
    return Path(os.environ.get("AGENTLOOP_HOME", Path.home() / ".cache" / "agentloop"))


def db_url(explicit: str | None = None) -> str:
    """--db beats $AGENTLOOP_DB beats sqlite:///agentloop.db (relative to the working dir)."""
    return explicit or os.environ.get("AGENTLOOP_DB") or DEFAULT_DB_URL


def command_line(argv: list[str]) -> str:
    """`agentloop ARGS` shell-quoted as typed, every URL password shown as *** (what `runs.command` keeps)."""
    from store.session import redact_urls

    def redact(arg: str) -> str:
        if arg.startswith("-") and "=" in arg:  # --db=URL
            option, _, value = arg.partition("=")
            return f"{option}={redact_urls(value)}"
        return redact_urls(arg)

    return " ".join(shlex.quote(redact(a)) for a in ["agentloop", *argv])


def repo_root() -> Path:
    """The checkout this package was installed from (editable install), for the shipped scenarios."""
    return Path(__file__).resolve().parent.parent
