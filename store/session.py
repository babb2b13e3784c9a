"""Engine and session setup: `open_store(url)` -> `Store`, and the schema upgrade the runner calls.

    store = ensure_schema("sqlite:///agentloop.db")   # migrate to head, then use it
    with store.session() as s:                          # one short write transaction
        s.add(row)

On SQLite every connection gets WAL, a 30 s busy timeout and foreign keys on, and
SQLAlchemy (not the sqlite3 module) emits BEGIN: `BEGIN IMMEDIATE` for write sessions,
so two processes queue for the write lock up front instead of failing with "database
is locked" when a read transaction tries to upgrade to a write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from agentloop.core.errors import AgentloopError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_S = 30.0
# execution option read by the "begin" listener: "IMMEDIATE" (write) or "DEFERRED" (read)
_BEGIN_OPTION = "agentloop_sqlite_begin"


class StoreError(AgentloopError):
    """The store is missing, unreachable or at the wrong schema version."""


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module so "_on_begin" decides the lock mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode, and 1 fsync per checkpoint
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """An engine plus session factories; cheap to create, one per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write = sessionmaker(engine, expire_on_commit=False)
        reader = engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}) if self.is_sqlite else engine
        self._read = sessionmaker(reader, expire_on_commit=False)

    def defer_all_transactions(self) -> None:
        """SQLite: every transaction, writes' too, begins DEFERRED (no write lock at BEGIN); for a
        store that never writes (store.readonly). A no-op elsewhere."""
        if self.is_sqlite:
            self.engine.update_execution_options(**{_BEGIN_OPTION: "DEFERRED"})

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: commits on success, rolls back on error. Keep it short.

        `readonly=True` starts a deferred transaction on SQLite (no write lock, so it
        never waits for a writer); writing inside it may fail with "database is locked".
        """
        with (self._read if readonly else self._write).begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> str | None:
        """Run the alembic migrations up to `revision`; returns the revision now current.

        Runs in one write transaction, so two processes upgrading at once serialize (`_migrating`).
        """
        with quiet_alembic():
            from alembic import command

            before = self.current_revision()
            with self._migrating() as conn:
                command.upgrade(alembic_config(conn), revision)
            after = self.current_revision()
        if after != before:
            log.info("store %s migrated from schema revision %s to %s", self.url, before, after)
        return after

    def downgrade(self, revision: str) -> str | None:
        """Undo the migrations after `revision` ("base": all), as `upgrade` runs them; the revision now current."""
        with quiet_alembic():
            from alembic import command

            with self._migrating() as conn:
                command.downgrade(alembic_config(conn), revision)
        return self.current_revision()

    @contextmanager
    def _migrating(self) -> Iterator[Connection]:
        """One write transaction for migrations. On SQLite it runs with foreign keys off (alembic's advice for
        batch mode: a migration that copies a referenced table, such as 0006's episodes, drops the old one,
        and with foreign keys on that drop would delete every referencing row), and PRAGMA foreign_key_check
        must find nothing before it commits."""
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection if self.is_sqlite else None
            if raw is not None:  # outside a transaction: SQLite ignores the pragma inside one
                raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with conn.begin():
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if raw else []
                    if broken:
                        raise StoreError(f"migrating {self.url} would leave rows without a parent: {broken[:5]}")
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys = ON")

    def current_revision(self) -> str | None:
        with quiet_alembic(), self.engine.connect() as conn:
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        with quiet_alembic():  # importing alembic.script logs its plugin setup at INFO
            from alembic.script import ScriptDirectory

            return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def require_current(self) -> None:
        """Raise a one-line StoreError unless the schema is at the newest revision."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            found = f"at schema revision {current}" if current else "not initialised"
            raise StoreError(f"the store {self.url} is {found}; run `agentloop db upgrade --db {self.url}`")

    def schema_diff(self) -> list[Any]:
        """Differences between the database and `store.models` (empty when they agree)."""
        from store.models import Base

        with quiet_alembic(), self.engine.connect() as conn:
            from alembic.autogenerate import compare_metadata
            from alembic.runtime.migration import MigrationContext

            context = MigrationContext.configure(
                conn, opts={"include_name": include_name, "compare_type": True})
            return list(compare_metadata(context, Base.metadata))

    def has_table(self, name: str) -> bool:
        return inspect(self.engine).has_table(name)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def quiet_alembic() -> Iterator[None]:
    """Alembic logs "Context impl SQLiteImpl." etc. at INFO on every start (and its plugin setup on
    first import): noise unless debugging. Import alembic modules inside this block."""
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    if not log.isEnabledFor(logging.DEBUG):
        alembic_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_log.setLevel(level)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic filter: the FTS5 index (turns_fts and its shadow tables) is not in the ORM."""
    return not (type_ == "table" and name is not None and name.startswith("turns_fts"))


def alembic_config(connection: Connection | None = None) -> Any:
    """The alembic Config built in code (works from an installed package: no alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


# scheme://user:PASSWORD@ (SQLAlchemy's own URL grammar: the password runs to the next "@")
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)[^@\s]*@")


def redact_urls(text: str) -> str:
    """`text` with the password of every URL in it shown as ***: for anything stored, logged or shown.

    A whole URL (one CLI argument, which may hold spaces) goes through SQLAlchemy's parser; URLs
    inside longer text are found by pattern."""
    if "://" not in text:
        return text
    try:
        url = make_url(text)
    except Exception:  # not one URL: search the text
        url = None
    if url is not None and url.password is not None:
        return url.render_as_string(hide_password=True)
    return _URL_PASSWORD.sub(lambda m: m["head"] + "***@", text)


def sqlite_path(url: str) -> Path | None:
    """The database file of a sqlite URL (None for other backends and in-memory databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_store(url: str, *, must_exist: bool = False, **engine_kwargs: Any) -> Store:
    """Connect to any SQLAlchemy URL; sqlite file paths are relative to the working dir.

    `must_exist=True` (read-only commands) raises StoreError instead of creating an
    empty sqlite file.
    """
    path = sqlite_path(url)
    if path is not None:
        if must_exist and not path.exists():
            raise StoreError(f"no store at {path}: pass --db URL (or set AGENTLOOP_DB), or run a scenario first")
        path.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs.setdefault("connect_args", {}).setdefault("timeout", BUSY_TIMEOUT_S)
    try:
        engine = create_engine(url, **engine_kwargs)
    except Exception as exc:  # bad URL or missing driver: both fixable by the user
        raise StoreError(redact_urls(f"cannot open store {url!r}: {exc}")) from exc
    if engine.dialect.name == "sqlite":
        _install_sqlite_pragmas(engine)
    return Store(engine)


def ensure_schema(url: str) -> Store:
    """Open the store and migrate it to head: what the runner calls at start."""
    store = open_store(url)
    revision = store.upgrade()
    log.debug("store %s at revision %s", store.url, revision)
    return store
