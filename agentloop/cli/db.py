"""`agentloop db upgrade`: migrate the episode store to the newest schema.

Also holds what the store-reading commands share: the `--db` option and opening an
existing store at the current schema.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from agentloop.cli.app import app
from agentloop.core.paths import db_url

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL of the store (default: $AGENTLOOP_DB or sqlite:///agentloop.db)."),
]

db_app = typer.Typer(help="The episode store (SQLite by default, any SQLAlchemy URL).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()


def open_existing(db: str | None):  # -> store.Store (imported lazily: keeps --help fast)
    """The store named by --db, which must exist and be at the newest schema (one-line error otherwise)."""
    from store import open_store

    store = open_store(db_url(db), must_exist=True)
    store.require_current()
    return store


@db_app.command("upgrade")
def upgrade(db: DbOption = None) -> None:
    """Create the store or migrate it to the newest schema (safe to run twice)."""
    from store import open_store

    store = open_store(db_url(db))
    revision = store.upgrade()
    console.print(f"store [bold]{store.url}[/] at schema revision [bold]{revision}[/]")
