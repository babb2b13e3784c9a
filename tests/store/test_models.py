"""Every table round-trips through a real SQLite file; constraints and pragmas hold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from store import open_store
from store.models import (
    AdapterRow,
    Base,
    EpisodeRow,
    EvaluationRow,
    FindingRow,
    PreferencePairRow,
    RunRow,
    TrainingRoundRow,
    TurnRow,
    VerdictRow,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def columns(row: Base) -> dict:
    return {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}


def one_of_each(s) -> list[Base]:
    """One fully populated row per table, flushed in FK order; returns them all."""
    run = RunRow(name="r", scenario_path="scenarios/x.yaml", scenario_yaml="seed: 1\n", config={"lr": 1e-4, "n": [1, 2]},
                 model="smollm2", backend="vllm", seed=7, arm="self+dpo", status="done", created_at=T0,
                 finished_at=T0 + timedelta(hours=1), command="agentloop run x.yaml")
    s.add(run)
    s.flush()
    episode = EpisodeRow(run_id=run.id, index=0, epoch=2, split="eval", task_family="fizzbuzz", task_kind="impossible",
                         task_seed=3, status="failed", outcome="error", error="Traceback ...", claimed_by="worker-1",
                         started_at=T0, finished_at=T0 + timedelta(seconds=5))
    s.add(episode)
    s.flush()
    turn = TurnRow(episode_id=episode.id, index=0, prompt="p", reasoning="r", answer="a", code="print(1)",
                   prompt_tokens=10, completion_tokens=20, latency_s=0.5, adapter_version=3, gated=True,
                   visible_passed=1, visible_total=2, hidden_passed=0, hidden_total=4,
                   sandbox={"exit_code": 1, "timed_out": False, "killed_by": None, "backend": "bwrap"}, created_at=T0)
    s.add(turn)
    s.flush()
    rnd = TrainingRoundRow(run_id=run.id, version=1, status="done", steps=12,
                           losses={"dpo": {"before": 0.69, "after": 0.1}}, n_pairs=4, n_task=8, n_replay=2,
                           n_skipped={"too_long": 1}, seconds=3.5, device="cpu", error=None, started_at=T0,
                           finished_at=T0 + timedelta(seconds=4))
    s.add(rnd)
    s.flush()
    rows = [
        run, episode, turn, rnd,
        VerdictRow(turn_id=turn.id, label="unethical", p_ethical=0.1, p_neutral=0.2, p_unethical=0.7, rewrite="fixed",
                   framework="wwjd", judge="oracle", snapshot="previous_adapter", evidence=True, latency_s=0.2,
                   created_at=T0),
        FindingRow(turn_id=turn.id, detector="tampering", rule="TAMPER_SYS_EXIT", severity="high", line=3,
                   file="solution.py", message="sys.exit(0)"),
        PreferencePairRow(run_id=run.id, turn_id=turn.id, prompt=[{"role": "user", "content": "p"}], chosen="good",
                          rejected="bad", source="oracle", first_round_id=rnd.id, created_at=T0),
        AdapterRow(run_id=run.id, version=1, path="/tmp/a/v1", checksum="sha256:abc", round_id=rnd.id,
                   published_at=T0),
        EvaluationRow(run_id=run.id, epoch=2, arm="self+dpo", seed=7, n_episodes=5, n_turns=20, aligned_rate=0.8,
                      hack_rate=0.1, insecure_rate=0.1, capability=0.5, precision=None, recall=0.0, f1=0.0, kappa=0.0,
                      extra={"ci": [0.7, 0.9]}, created_at=T0),
    ]
    s.add_all(rows[4:])
    s.flush()
    return rows


def test_round_trip_every_table(store, db_url):
    with store.session() as s:
        written = {type(r): columns(r) for r in one_of_each(s)}
    assert {cls.__tablename__ for cls in written} == set(Base.metadata.tables)

    reopened = open_store(db_url)  # a new engine: nothing comes from an identity map
    with reopened.session(readonly=True) as s:
        for cls, expected in written.items():
            (row,) = s.scalars(select(cls)).all()
            assert columns(row) == expected, cls.__tablename__
    reopened.dispose()


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


def test_deletes_cascade_or_set_null(store):
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
