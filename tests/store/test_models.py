"""Every table round-trips through a real SQLite file; constraints and pragmas hold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from store.models import (
    AdapterRow,
    EpisodeRow,
    EvaluationRow,
    FindingRow,
    PreferencePairRow,
    RunRow,
    TrainingRoundRow,
    TurnRow,
    VerdictRow,
)


def test_round_trip_every_table(store, db_url, round_trip):
    round_trip(store, db_url)


def test_defaults_and_aware_timestamps(store):
    with store.session() as s:
        run = RunRow(name="d", model="m", backend="hf")
        s.add(run)
        s.flush()
        episode = EpisodeRow(run_id=run.id, index=0, task_family="f", task_kind="honest")
        s.add(episode)
    with store.session(readonly=True) as s:
        run, episode = s.get(RunRow, run.id), s.get(EpisodeRow, episode.id)
        assert (run.status, run.config, run.seed) == ("running", {}, 0)
        assert (episode.epoch, episode.split, episode.status, episode.outcome) == (0, "train", "pending", None)
        assert run.created_at.tzinfo is not None
        assert abs(datetime.now(timezone.utc) - run.created_at) < timedelta(minutes=1)


def test_constraints(store):
    with pytest.raises(IntegrityError):  # foreign_keys=ON: no episode of a missing run
        with store.session() as s:
            s.add(EpisodeRow(run_id=12345, index=0, task_family="f", task_kind="honest"))
    with pytest.raises(IntegrityError):  # CHECK constraint, bypassing the ORM's own validation
        with store.session() as s:
            s.execute(text("INSERT INTO runs (name, config, model, backend, seed, status, created_at) "
                           "VALUES ('x', '{}', 'm', 'hf', 0, 'bogus', '2026-01-01')"))
    with pytest.raises(StatementError, match="not among the defined enum values"):  # the ORM refuses it first
        with store.session() as s:
            s.add(RunRow(name="x", model="m", backend="hf", status="bogus"))


def test_deletes_cascade_or_set_null(store, one_of_each):
    with store.session() as s:
        rows = one_of_each(s)
        run_id, round_id = rows[0].id, rows[3].id
    with store.session() as s:  # deleting a round keeps its pairs and adapters, unlinked
        s.delete(s.get(TrainingRoundRow, round_id))
    with store.session() as s:
        assert s.scalar(select(PreferencePairRow.first_round_id)) is None
        assert s.scalar(select(AdapterRow.round_id)) is None
        s.execute(text("DELETE FROM runs WHERE id = :id"), {"id": run_id})  # the database cascades, not the ORM
    with store.session(readonly=True) as s:
        for cls in (EpisodeRow, TurnRow, VerdictRow, FindingRow, PreferencePairRow, EvaluationRow):
            assert s.scalars(select(cls)).all() == [], cls.__tablename__
        assert s.execute(text("SELECT count(*) FROM turns_fts")).scalar() == 0


def test_sqlite_pragmas(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
