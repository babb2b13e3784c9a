"""Where agentloop keeps its files: the cache home, the embedded model, the default store."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB_URL = "sqlite:///agentloop.db"


def home() -> Path:
    """$AGENTLOOP_HOME, default ~/.cache/agentloop."""
    return Path(os.environ.get("AGENTLOOP_HOME", Path.home() / ".cache" / "agentloop"))


def db_url(explicit: str | None = None) -> str:
    """--db beats $AGENTLOOP_DB beats sqlite:///agentloop.db (relative to the working dir)."""
    return explicit or os.environ.get("AGENTLOOP_DB") or DEFAULT_DB_URL


def repo_root() -> Path:
    """The checkout this package was installed from (editable install), for the shipped scenarios."""
    return Path(__file__).resolve().parents[2]
