"""The alembic baseline builds exactly the ORM schema, idempotently, without an alembic.ini."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import text

from store import open_store
from store.models import Base
from store.session import alembic_config


def test_upgrade_matches_models(store):
    assert store.current_revision() == store.head_revision() == "0006"
    assert store.schema_diff() == []
    names = {n for n in Base.metadata.tables}
    assert names <= set(store.engine.dialect.get_table_names(store.engine.connect()))


def test_schema_diff_sees_a_difference(store):
    """The comparison is not vacuous: a dropped index shows up."""
    with store.session() as s:
        s.execute(text("DROP INDEX ix_findings_turn_id"))
    diff = store.schema_diff()
    assert [d[0] for d in diff] == ["add_index"]


def test_upgrade_is_idempotent_and_downgrades(store, db_url):
    again = open_store(db_url)
    assert again.upgrade() == "0006"
    with again.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert again.current_revision() is None
    assert not again.has_table("turns") and not again.has_table("turns_fts")
    assert again.upgrade() == "0006" and again.schema_diff() == []
    again.dispose()


def test_require_current_names_the_fix(tmp_path):
    from store import StoreError

    with pytest.raises(StoreError, match="no store at"):
        open_store(f"sqlite:///{tmp_path / 'missing.db'}", must_exist=True)
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(StoreError, match="agentloop db upgrade"):
        fresh.require_current()


def test_relative_sqlite_url_is_relative_to_cwd(tmp_path):
    """sqlite:///agentloop.db lands in the working dir (run in a subprocess: chdir is process-wide)."""
    code = "from store import ensure_schema; ensure_schema('sqlite:///sub/agentloop.db')"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert (tmp_path / "sub" / "agentloop.db").stat().st_size > 0
