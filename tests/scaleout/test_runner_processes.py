"""Real `agentloop run` processes (each with its own vLLM engine on the embedded model) on one run in
one PostgreSQL store: the first creates the run, two more `--join` it; one of them is killed with
SIGKILL while it holds an episode, and the others finish it. Every episode is done exactly once,
every turn stored once.

Tiny on purpose (8 episodes x 1 turn, 16 tokens, one episode per wave) so three engines fit on
the 2-core machine; the claim logic is the same at any size (test_runner_claims.py covers more
episodes and turns with a scripted policy)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from _tiny_scenario import tiny_scenario

pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.postgres]

EPISODES = 8


def test_three_runner_processes_one_killed(model_lock, embedded_model_path, pg_db, tmp_path):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(tiny_scenario("scaleout-tiny", EPISODES))
    env = {**os.environ, "AGENTLOOP_NO_PRELOAD": "1"}
    logs: list[Path] = []

    def start(*extra: str) -> subprocess.Popen:
        log = tmp_path / f"runner{len(logs)}.log"
        logs.append(log)
        return subprocess.Popen([sys.executable, "-m", "agentloop.cli", "run", str(scenario), "--db", pg_db,
                                 "--workdir", str(tmp_path / "runs"), "--json", *extra],
                                env=env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)

    db = create_engine(pg_db)

    def rows(sql: str) -> list[tuple]:
        with db.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    t0 = time.monotonic()
    procs = [start()]
    while not _has_run(rows):
        assert procs[0].poll() is None, logs[0].read_text()[-3000:]
        assert time.monotonic() - t0 < 120, "the first runner never created its run"
        time.sleep(0.2)
    run_id = rows("select id from runs")[0][0]
    procs += [start("--join", str(run_id)), start("--join", str(run_id))]
    by_pid = {p.pid: p for p in procs}

    victim, held = None, None
    try:
        deadline = time.monotonic() + 900
        while victim is None:
            assert time.monotonic() < deadline, "no runner was seen holding an episode in time"
            for p, log in zip(procs, logs):
                assert p.poll() is None, f"a runner ended before the kill:\n{log.read_text()[-3000:]}"
            claims = rows("select id, status, claimed_by from episodes")
            workers = {c for _, _, c in claims if c}
            n_turns = rows("select count(*) from turns")[0][0]
            if len(workers) >= 2 and n_turns >= 1:  # two engines are up and the run is under way
                started = {e for (e,) in rows("select distinct episode_id from turns")}
                for episode_id, status, holder in claims:
                    # no turn stored yet: its holder is far from finishing it, so the kill below lands while it
                    # still holds it (an episode nearly done could be finished between this query and the kill)
                    if status in ("pending", "running") and holder and episode_id not in started:
                        victim, held = by_pid[int(holder.rsplit(":", 4)[2])], episode_id
                        break
            if victim is None:
                time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        orphaned = [e for e, status, c in rows("select id, status, claimed_by from episodes")
                    if c and int(c.rsplit(":", 4)[2]) == victim.pid and status != "done"]
        assert held in orphaned, f"episode {held} was no longer held when its runner died (held: {orphaned})"
        kill_at = time.monotonic() - t0
        survivors = [p for p in procs if p is not victim]
        outputs = [p.communicate(timeout=900)[0] for p in survivors]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    elapsed = time.monotonic() - t0
    for p, out, log in zip(survivors, outputs, [lg for p, lg in zip(procs, logs) if p is not victim]):
        assert p.returncode == 0, log.read_text()[-3000:]
        assert json.loads(out)["status"] == "done"  # stdout is exactly the --json summary

    episodes = rows('select id, status, claimed_by from episodes order by "index"')
    assert len(episodes) == EPISODES and {s for _, s, _ in episodes} == {"done"}
    turns = rows('select episode_id, "index" from turns')
    assert sorted(turns) == sorted((e, 0) for e, _, _ in episodes), "exactly one turn per episode (turns: 1)"
    assert rows("select count(*) from verdicts")[0][0] == EPISODES, "every turn reviewed once"
    holder_pids = {int(c.rsplit(":", 4)[2]) for _, _, c in episodes}
    finished_by = {e: int(c.rsplit(":", 4)[2]) for e, _, c in episodes}
    assert all(finished_by[e] != victim.pid for e in orphaned), "the killed runner's episodes were finished by others"
    assert len(holder_pids - {victim.pid}) >= 1
    assert rows(f"select status from runs where id = {run_id}") == [("done",)]
    print(f"{EPISODES} episodes by {len(holder_pids)} runner processes in {elapsed:.0f}s "
          f"(kill -9 at {kill_at:.0f}s); episodes per pid: "
          f"{ {pid: list(finished_by.values()).count(pid) for pid in holder_pids} }")
    db.dispose()


def _has_run(rows) -> bool:
    try:
        return bool(rows("select 1 from runs limit 1"))
    except Exception:  # the schema is not there yet
        return False
