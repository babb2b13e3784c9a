"""Open the store read-only (the viewer's store): SQLite through a `mode=ro` URI plus `query_only`,
Postgres with read-only transactions. The viewer never writes, and now it cannot either.

    from store.readonly import open_readonly_store
    store = open_readonly_store("sqlite:///agentloop.db")
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.request import pathname2url

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from store.session import BUSY_TIMEOUT_S, Store, StoreError, open_store, redact_urls, sqlite_path


def _sqlite_ro_connector(path: str) -> Any:
    uri = f"file:{pathname2url(path)}?mode=ro"

    def connect() -> sqlite3.Connection:
        # check_same_thread=False: Starlette runs sync endpoints on a thread pool and the
        # engine's pool hands one connection to one thread at a time.
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)

    return connect


def open_readonly_store(url: str) -> Store:
    """The store at `url`, opened so that no statement can write (StoreError if it is missing)."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise StoreError(redact_urls(f"cannot open store {url!r}: {exc}; pass --db sqlite:///PATH or a SQLAlchemy URL")) from exc
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {}
    if path is not None:
        if not path.exists():
            raise StoreError(f"no store at {path}: pass --db URL (or set AGENTLOOP_DB), or run a scenario first")
        kwargs["creator"] = _sqlite_ro_connector(str(path.resolve()))
    elif backend == "postgresql":
        # a libpq startup option, so no rollback can undo it (a SET in a transaction could be)
        kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    store = open_store(url, must_exist=True, **kwargs)
    if store.is_sqlite:
        store.defer_all_transactions()  # the store's default is BEGIN IMMEDIATE, a write lock

        @event.listens_for(store.engine, "connect")
        def _query_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = ON")
    try:
        store.require_current()  # a missing or old schema fails here in one line, not as a 500 per page
    except OperationalError as exc:
        # e.g. a SQLite file not in WAL mode: a read-only connection cannot switch it
        raise StoreError(f"cannot read {store.url} read-only ({exc.orig}): run `agentloop db upgrade --db "
                         f"{store.url}` once (schema and WAL mode), then start the viewer again") from exc
    return store
