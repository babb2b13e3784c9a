"""Migration 0006: episodes.split takes "benchmark" (an outside benchmark's episodes, agentloop.benchmark).

A store at 0005 with rows in every table upgrades without losing one (SQLite copies the episodes table in
batch mode; with foreign keys on, dropping the old one would have deleted every turn), then accepts a
benchmark episode, still refuses an unknown split, and downgrades back when it holds none; on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from store import open_store
from store.models import Base, EpisodeRow


def _counts(store) -> dict[str, int]:
    with store.session(readonly=True) as s:
        return {name: s.scalar(select(func.count()).select_from(table)) for name, table in Base.metadata.tables.items()}


def _at_0005(url: str, write_one_of_each):
    store = open_store(url)
    assert store.upgrade("0005") == "0005"
    with store.session() as s:
        write_one_of_each(s)
    return store


def _upgrade_keeps_rows(url: str, write_one_of_each) -> None:
    store = _at_0005(url, write_one_of_each)
    before = _counts(store)
    assert before["turns"] and before["findings"] and before["verdicts"]
    assert store.upgrade() == "0006" and store.schema_diff() == []
    assert _counts(store) == before, "no row was lost in the table copy"
    with store.session() as s:
        run_id = s.scalar(select(EpisodeRow.run_id))
        s.add(EpisodeRow(run_id=run_id, index=99, split="benchmark", task_family="humaneval_0", task_kind="honest"))
    with store.session(readonly=True) as s:
        assert s.scalar(select(func.count()).where(EpisodeRow.split == "benchmark")) == 1
    with pytest.raises((IntegrityError, StatementError)), store.session() as s:
        s.execute(text("INSERT INTO episodes (run_id, \"index\", epoch, split, task_family, task_kind, task_seed, "
                       "status) VALUES (:r, 100, 0, 'bogus', 'f', 'honest', 0, 'pending')"), {"r": run_id})
    if store.is_sqlite:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1, "foreign keys are back on"
    store.dispose()


def _downgrade_refuses(url: str, write_one_of_each) -> None:
    store = _at_0005(url, write_one_of_each)
    store.upgrade()
    before = _counts(store)
    with store.session() as s:
        s.scalars(select(EpisodeRow)).first().split = "benchmark"
    with pytest.raises(RuntimeError, match="benchmark split"):
        store.downgrade("0005")
    assert store.current_revision() == "0006", "the refused downgrade changed nothing"
    with store.session() as s:
        s.scalars(select(EpisodeRow)).first().split = "eval"
    assert store.downgrade("0005") == "0005"
    assert _counts(store) == before, "no row was lost on the way down"
    assert store.upgrade() == "0006" and store.schema_diff() == []
    store.dispose()


def test_upgrade_keeps_every_row_and_takes_the_benchmark_split(db_url, one_of_each):
    _upgrade_keeps_rows(db_url, one_of_each)


def test_downgrade_refuses_while_benchmark_episodes_exist(db_url, one_of_each):
    _downgrade_refuses(db_url, one_of_each)


@pytest.mark.postgres
def test_postgres_upgrade_keeps_every_row(pg_url, one_of_each):
    _upgrade_keeps_rows(pg_url, one_of_each)


@pytest.mark.postgres
def test_postgres_downgrade_refuses(pg_url, one_of_each):
    _downgrade_refuses(pg_url, one_of_each)
