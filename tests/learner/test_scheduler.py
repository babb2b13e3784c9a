"""The background learner's schedule lives in the database: a restarted learner resumes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

pytestmark = [pytest.mark.model, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def _start(db_url, run_id, model, adapters, task_jsonl, home) -> subprocess.Popen:
    config = '{"steps": 1, "max_length": 96, "seed": 0}'
    return subprocess.Popen([sys.executable, "-m", "agentloop.cli", "learner", "start", "--run", str(run_id),
                             "--every", "6s", "--db", db_url, "--model", model, "--adapters", str(adapters),
                             "--task-data", str(task_jsonl), "--config", config], cwd=REPO,
                            env={**os.environ, "AGENTLOOP_HOME": str(home)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _finished_rounds(db_url: str, run_id: int) -> list:
    from store import models as m
    from store.session import open_store

    with open_store(db_url).session(readonly=True) as s:
        return s.execute(select(m.TrainingRoundRow.version, m.TrainingRoundRow.started_at)
                         .where(m.TrainingRoundRow.run_id == run_id, m.TrainingRoundRow.status == "done")
                         .order_by(m.TrainingRoundRow.id)).all()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_schedule_survives_restart(embedded_model_path, pair_store, task_jsonl, tmp_path, monkeypatch):
    from learner.scheduler import job_id, pid_file, stored_jobs

    monkeypatch.setenv("AGENTLOOP_HOME", str(tmp_path / "home"))
    db_url, run_id = pair_store
    adapters = tmp_path / "adapters"
    first = _start(db_url, run_id, embedded_model_path, adapters, task_jsonl, tmp_path / "home")
    try:
        _wait_for(lambda: _finished_rounds(db_url, run_id), 90, "the first scheduled round")
        assert pid_file(db_url, run_id).read_text() == str(first.pid)
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(90) == 0, first.stderr.read()[-2000:]
    assert not pid_file(db_url, run_id).exists()

    [job] = stored_jobs(db_url)  # the schedule outlives its process
    assert job["id"] == job_id(run_id) and job["every_s"] == 6.0 and job["config"]["steps"] == 1
    stored_next = job["next_run_time"]
    done_before = len(_finished_rounds(db_url, run_id))

    second = _start(db_url, run_id, embedded_model_path, adapters, task_jsonl, tmp_path / "home")
    restarted_at = time.time()
    try:
        rounds = _wait_for(lambda: (r := _finished_rounds(db_url, run_id)) and len(r) > done_before and r, 90,
                           "a round after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(90) == 0, second.stderr.read()[-2000:]
    [job_after] = stored_jobs(db_url)
    assert job_after["id"] == job["id"]  # resumed, not duplicated
    # on time: at the stored next run time (or at once, if that passed while the learner was down),
    # plus the round process's start-up before it records its row
    due = max(stored_next.timestamp(), restarted_at)
    assert rounds[done_before].started_at.timestamp() - due < 30
    assert [r.version for r in rounds] == list(range(1, len(rounds) + 1))
