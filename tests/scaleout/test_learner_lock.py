"""The learner's round lock on PostgreSQL (store.lock: a session-level pg_try_advisory_lock):
while one process holds a run's lock, a real `python -m learner.round` for that run is refused
before it loads anything (exit 2, no training_rounds row), other runs are free, and a kill -9 of
the holder frees the lock (the server drops it with the connection)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from store.lock import RoundBusy, round_lock
from store import ensure_schema
from store.models import RunRow, TrainingRoundRow

pytestmark = pytest.mark.postgres

HOLD = ("import sys, time\nfrom store.lock import round_lock\n"
        "with round_lock(sys.argv[1], int(sys.argv[2])):\n    print('held', flush=True)\n    time.sleep(3600)\n")


def test_second_round_is_refused_while_one_holds_the_lock(pg_db, tmp_path):
    store = ensure_schema(pg_db)
    with store.session() as s:
        run, other = RunRow(name="a", model="m", backend="hf"), RunRow(name="b", model="m", backend="hf")
        s.add_all([run, other])
        s.flush()
        run_id, other_id = run.id, other.id
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, pg_db, str(run_id)], stdout=subprocess.PIPE, text=True,
                              env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "learner.round", "--db", pg_db, "--run", str(run_id),
                                 "--model", str(tmp_path / "no-model-needed"), "--adapters", str(tmp_path / "ad")],
                                capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"a learner round for run {run_id} is already running" in second.stderr
        assert time.monotonic() - t0 < 60, "refused at once, not queued"
        with store.session(readonly=True) as s:
            assert s.scalar(select(func.count()).select_from(TrainingRoundRow)) == 0
        with pytest.raises(RoundBusy):
            with round_lock(pg_db, run_id):
                pass
        with round_lock(pg_db, other_id):  # another run's learner is independent
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    deadline = time.monotonic() + 20
    while True:  # the server notices the dead connection and drops its session lock
        try:
            with round_lock(pg_db, run_id):
                break
        except RoundBusy:
            assert time.monotonic() < deadline, "the lock of a killed holder was never released"
            time.sleep(0.2)
    store.dispose()


def test_schedule_is_stored_in_postgres(pg_db):
    """The background learner's APScheduler job lives in the same PostgreSQL database, so a learner
    restarted on another host resumes the same schedule (same next run time)."""
    from learner.job import RoundJob
    from learner.scheduler import ensure_job, make_scheduler, stored_jobs

    ensure_schema(pg_db)
    spec = RoundJob(db_url=pg_db, run_id=3, model_path="m", adapters_dir="/tmp/a", task_jsonl=None, config_json="{}")
    first = make_scheduler(pg_db, 600)
    first.start(paused=True)
    next_run = ensure_job(first, spec, 600).next_run_time
    first.shutdown(wait=False)

    again = make_scheduler(pg_db, 600)
    again.start(paused=True)
    assert ensure_job(again, spec, 600).next_run_time == next_run  # resumed, not rescheduled
    again.shutdown(wait=False)
    (job,) = stored_jobs(pg_db)
    assert job["id"] == "learner-run3"
