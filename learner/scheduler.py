"""The background learner: an APScheduler interval job, stored in the run's own database.

    agentloop learner start --run 1 --every 10m --db sqlite:///agentloop.db --model PATH

The job lives in `SQLAlchemyJobStore(url=db_url)` (table `apscheduler_jobs`), so a restarted
learner resumes the same schedule (same next run time). Each firing spawns one round process
(`python -m learner.round`); `max_instances=1` and `coalesce=True` mean rounds never overlap and
missed firings collapse into one; the round lock (`store.lock`) also guards against a second
learner process on the same run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import threading
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentloop.core import paths
from learner.job import RoundJob

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"


def job_id(run_id: int) -> str:
    return f"learner-run{run_id}"


def pid_file(db_url: str, run_id: int) -> Path:
    """Where a learner process for (database, run) records its pid; `learner stop` reads it."""
    tag = hashlib.sha256(db_url.encode()).hexdigest()[:10]
    return paths.home() / "learners" / f"run{run_id}-{tag}.pid"


def spawn_round(**job: Any) -> int:
    """The scheduled job: one round (a RoundJob's fields, stored with the schedule, so a restart has
    them too) in a child process. Returns its exit code (logged, not raised, so a failed round never
    unschedules the learner)."""
    round_job = RoundJob(**job)
    log.info("learner round for run %d starting", round_job.run_id)
    proc = subprocess.run(round_job.command(), capture_output=True, text=True)
    if proc.returncode == 0:
        log.info("learner round done: %s", proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "")
    else:
        log.error("learner round failed (exit %d):\n%s", proc.returncode, proc.stderr[-3000:])
    return proc.returncode


def make_scheduler(db_url: str, interval_s: float):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=db_url, tablename=JOBS_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      # a firing missed by up to one interval (e.g. while the learner was down) still runs
                      "misfire_grace_time": max(1, int(interval_s))},
        timezone="UTC",
    )


def ensure_job(scheduler: Any, spec: RoundJob, interval_s: float) -> Any:
    """Keep a stored job's next run time (that is what resuming means); update its arguments, and
    its trigger only if the interval changed. Call on a started (paused) scheduler."""
    from apscheduler.triggers.interval import IntervalTrigger

    kwargs = asdict(spec)
    job = scheduler.get_job(job_id(spec.run_id))
    if job is None:
        log.info("scheduling learner rounds for run %d every %ss", spec.run_id, interval_s)
        return scheduler.add_job(spawn_round, IntervalTrigger(seconds=interval_s), id=job_id(spec.run_id),
                                 name=f"learner round, run {spec.run_id}", kwargs=kwargs)
    job = job.modify(kwargs=kwargs)
    if job.trigger.interval != timedelta(seconds=interval_s):
        log.info("learner interval for run %d changed to %ss", spec.run_id, interval_s)
        job = job.reschedule(IntervalTrigger(seconds=interval_s))
    else:
        log.info("resuming stored learner schedule for run %d; next round at %s", spec.run_id, job.next_run_time)
    return job


def serve(spec: RoundJob, interval_s: float, stop_event: threading.Event | None = None) -> None:
    """Run the scheduler in this process until SIGTERM/SIGINT (or `stop_event`); writes the pid file."""
    stop_event = stop_event or threading.Event()
    pidf = pid_file(spec.db_url, spec.run_id)
    pidf.parent.mkdir(parents=True, exist_ok=True)
    pidf.write_text(str(os.getpid()))
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop_event.set())
    scheduler = make_scheduler(spec.db_url, interval_s)
    scheduler.start(paused=True)
    try:
        ensure_job(scheduler, spec, interval_s)
        scheduler.resume()
        stop_event.wait()
    finally:
        log.info("learner for run %d stopping (waiting for a running round)", spec.run_id)
        scheduler.shutdown(wait=True)
        if pidf.exists() and pidf.read_text().strip() == str(os.getpid()):
            pidf.unlink()


def stored_jobs(db_url: str) -> list[dict[str, Any]]:
    """The learner jobs in the database (id, run, interval, next run time), without starting anything."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url=db_url, tablename=JOBS_TABLE)
    store.start(None, "default")  # creates the table if missing; no scheduler needed to read
    try:
        return [{"id": j.id, "run_id": j.kwargs.get("run_id"), "every_s": j.trigger.interval.total_seconds(),
                 "next_run_time": j.next_run_time, "config": json.loads(j.kwargs.get("config_json", "{}"))}
                for j in store.get_all_jobs() if j.id.startswith("learner-run")]
    finally:
        store.shutdown()


def remove_job(db_url: str, run_id: int) -> bool:
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url=db_url, tablename=JOBS_TABLE)
    store.start(None, "default")
    try:
        store.remove_job(job_id(run_id))
        return True
    except JobLookupError:
        return False
    finally:
        store.shutdown()


def stop(db_url: str, run_id: int) -> int | None:
    """SIGTERM the learner process of (database, run), if one is alive; returns its pid."""
    pidf = pid_file(db_url, run_id)
    if not pidf.exists():
        return None
    pid = int(pidf.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidf.unlink(missing_ok=True)
        return None
    return pid
