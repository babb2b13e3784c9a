"""Alembic environment for the episode store.

`store.session.Store.upgrade()` passes its own connection (with the SQLite pragmas and
BEGIN IMMEDIATE) in `config.attributes["connection"]`; without one (the `alembic`
command line with `-x url=...`) this file opens the URL itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store.models import Base
from store.session import include_name

config = context.config


def run_migrations(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    assert url, "pass the database with `alembic -x url=sqlite:///agentloop.db ...`"
    with create_engine(url).begin() as conn:
        run_migrations(conn)
