"""Episode claims (store.claims) on SQLite and on PostgreSQL: concurrent claimers (threads and OS
processes) never get the same episode, a dead worker's claims are taken over, a worker that lost
its claim cannot write to the episode."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from store.recorder import ClaimLost, Recorder
from agentloop.core.types import Turn
from store import ensure_schema
from store import claims
from store.models import EpisodeRow, RunRow, TurnRow, utcnow

WORKER = Path(__file__).with_name("claim_worker.py")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def claims_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'claims.db'}"
    import _postgres

    pytest.importorskip("psycopg")
    return _postgres.create_database(request.getfixturevalue("pg_server"), "psycopg")


def make_run(url: str, n: int) -> tuple[Recorder, int]:
    store = ensure_schema(url)
    with store.session() as s:
        run = RunRow(name="claims", model="none", backend="none")
        s.add(run)
        s.flush()
        s.add_all(EpisodeRow(run_id=run.id, index=i, task_family="f", task_kind="honest") for i in range(n))
        return Recorder(store), run.id


def all_episode_ids(rec: Recorder, run_id: int) -> set[int]:
    with rec.store.session(readonly=True) as s:
        return set(s.scalars(select(EpisodeRow.id).where(EpisodeRow.run_id == run_id)))


def test_processes_split_the_run(claims_url, tmp_path):
    """Three OS processes claim waves of 2 from 60 episodes at once: each episode is claimed, run
    (one turn) and finished by exactly one of them."""
    rec, run_id = make_run(claims_url, 60)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, str(WORKER), claims_url, str(run_id), "2", str(barrier), "3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    got = [set(r["episodes"]) for r in reports]
    assert sum(len(g) for g in got) == 60 and set().union(*got) == all_episode_ids(rec, run_id)
    assert all(got), f"every worker got a share: {[len(g) for g in got]}"
    with rec.store.session(readonly=True) as s:
        assert s.scalar(select(func.count(TurnRow.id))) == 60
        holders = dict(s.execute(select(EpisodeRow.id, EpisodeRow.claimed_by)).all())
        assert {s.scalar(select(func.count()).select_from(EpisodeRow).where(EpisodeRow.status != "done"))} == {0}
    for report in reports:  # finished episodes keep who ran them
        assert {holders[e] for e in report["episodes"]} == {report["worker"]}


def test_threads_never_share(claims_url):
    """Three threads, one episode per claim, started together: disjoint, complete."""
    rec, run_id = make_run(claims_url, 30)
    barrier = threading.Barrier(3)
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work() -> None:
        me = claims.worker_id()
        got[me] = []
        try:
            barrier.wait()
            while plans := rec.claim_episodes(run_id, me, 1, lease_s=600):
                got[me] += [p.episode_id for p in plans]
                assert rec.finish_episode(plans[0].episode_id, status="done", outcome="solved", worker=me)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    flat = [e for ids in got.values() for e in ids]
    assert len(flat) == len(set(flat)) == 30 and set(flat) == all_episode_ids(rec, run_id)


def test_waves_follow_the_index_order(claims_url):
    rec, run_id = make_run(claims_url, 5)
    me = claims.worker_id()
    first = rec.claim_episodes(run_id, me, 2, lease_s=60)
    second = rec.claim_episodes(run_id, me, 2, lease_s=60)  # own live claims are not handed out again
    assert [p.index for p in first] == [0, 1] and [p.index for p in second] == [2, 3]
    assert rec.release_claims(me) == 4
    assert [p.index for p in rec.claim_episodes(run_id, claims.worker_id(), 9, lease_s=60)] == [0, 1, 2, 3, 4]


def test_killed_holder_is_taken_over_at_once(claims_url, tmp_path):
    """A process on this machine claims a wave (lease: one hour) and is killed with SIGKILL: its
    episodes are free at once (pid gone), not after the lease."""
    rec, run_id = make_run(claims_url, 4)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(WORKER), claims_url, str(run_id), "3", str(tmp_path), "1", "hold"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        held = set(json.loads(proc.stdout.readline())["episodes"])
        assert len(held) == 3
        me = claims.worker_id()
        assert rec.others_hold(run_id, me) == 3
        assert [p.index for p in rec.claim_episodes(run_id, me, 9, lease_s=60)] == [3]  # the live holder keeps its 3
    finally:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert rec.others_hold(run_id, me) == 0
    assert {p.episode_id for p in rec.claim_episodes(run_id, me, 9, lease_s=60)} == held


def test_zombie_and_reused_pid_count_as_dead():
    me = claims.worker_id()
    assert not claims.holder_is_dead(me)
    host, key, pid, start, nonce = me.rsplit(":", 4)
    assert claims.holder_is_dead(f"{host}:{key}:{pid}:{int(start) + 1}:{nonce}")  # same pid, newer process
    proc = subprocess.Popen(["true"])
    time.sleep(0.5)  # exited, not yet reaped: a zombie
    assert claims.holder_is_dead(f"{host}:{key}:{proc.pid}:0:x")
    proc.wait()
    assert not claims.holder_is_dead(f"elsewhere:0123456789ab:{proc.pid}:0:x")  # another machine: the lease decides
    assert not claims.holder_is_dead("worker-1")


def test_expired_lease_frees_a_remote_claim(claims_url):
    rec, run_id = make_run(claims_url, 2)
    remote = "gpu-node-7:0123456789ab:4242:99:cafe"
    with rec.store.session() as s:
        s.execute(update(EpisodeRow).where(EpisodeRow.index == 0)
                  .values(claimed_by=remote, claim_expires_at=utcnow() + dt.timedelta(hours=1)))
        s.execute(update(EpisodeRow).where(EpisodeRow.index == 1)
                  .values(claimed_by=remote, claim_expires_at=utcnow() - dt.timedelta(seconds=1)))
    me = claims.worker_id()
    assert rec.others_hold(run_id, me) == 1
    assert [p.index for p in rec.claim_episodes(run_id, me, 9, lease_s=60)] == [1]


def test_renew_keeps_the_claim(claims_url):
    rec, run_id = make_run(claims_url, 1)
    me = claims.worker_id()
    rec.claim_episodes(run_id, me, 1, lease_s=0.5)
    time.sleep(0.2)
    assert rec.renew_claims(me, 3600) == 1
    time.sleep(0.5)  # the first lease has run out; the renewed one has not
    assert rec.claim_episodes(run_id, claims.worker_id(), 1, lease_s=60) == []


def test_lost_claim_writes_nothing(claims_url):
    """A worker paused past its lease: another takes the episode over; the first one's turn is
    refused (ClaimLost) and its finish is a no-op, so the episode has only the new holder's turns."""
    rec, run_id = make_run(claims_url, 1)
    slow, fast = claims.worker_id(), claims.worker_id()
    (plan,) = rec.claim_episodes(run_id, slow, 1, lease_s=0.2)
    time.sleep(0.4)
    (taken,) = rec.claim_episodes(run_id, fast, 1, lease_s=60)
    assert taken.episode_id == plan.episode_id
    with pytest.raises(ClaimLost):
        rec.record_turn(plan.episode_id, Turn(index=0, prompt="p", reasoning="", answer="slow", code=None), None, _NoTests(), None,
                        gave_up=False, executed_answer="slow", worker=slow)
    assert not rec.finish_episode(plan.episode_id, status="done", outcome="solved", worker=slow)
    rec.record_turn(plan.episode_id, Turn(index=0, prompt="p", reasoning="", answer="fast", code=None), None, _NoTests(), None,
                    gave_up=False, executed_answer="fast", worker=fast)
    assert rec.finish_episode(plan.episode_id, status="done", outcome="solved", worker=fast)
    with rec.store.session(readonly=True) as s:
        assert list(s.scalars(select(TurnRow.answer))) == ["fast"]
        ep = s.get(EpisodeRow, plan.episode_id)
        assert (ep.status, ep.claimed_by, ep.claim_expires_at) == ("done", fast, None)


class _Result:
    tests: list = []
    exit_code, timed_out, killed_by, backend, duration_s, n_passed = 0, False, None, "none", 0.0, 0


class _NoTests:
    """The sandbox evaluation record_turn reads (no tests ran)."""

    visible = hidden = _Result()
