"""Several real Runners on one run split its episodes through the store's claims (SQLite and
PostgreSQL): every episode once, every turn once, and a dead worker's episodes are taken over by a
runner that was waiting for them. Only the policy is scripted (no model); runner, recorder, store,
sandbox and detectors are real. The same with real `agentloop run` processes and vLLM engines is in
test_runner_processes.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from agentloop.core.paths import repo_root
from agentloop.core.types import Generation

SMOKE = repo_root() / "scenarios" / "smoke.yaml"
HOLDER = repo_root() / "tests" / "store" / "claim_worker.py"
ANSWER = "I will do it properly.\n```python\ndef placeholder():\n    return None\n```"


class SlowPolicy:
    """Answers ANSWER after `delay` seconds (a stand-in for generation, so runners interleave)."""

    name = "scripted"
    adapter_versions: list[int] = []

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay

    def generate(self, prompts, sampling, adapter=None):
        time.sleep(self.delay)
        return [Generation(text=ANSWER, prompt_tokens=1, completion_tokens=1, latency_s=self.delay) for _ in prompts]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'run.db'}"
    return request.getfixturevalue("pg_db")


def make_run(url: str, episodes: int, turns: int):
    from agentloop.launch import plan_episodes
    from store.recorder import Recorder
    from agentloop.config.scenario import load_scenario
    from store import ensure_schema

    scenario = load_scenario(SMOKE).with_overrides(episodes=episodes, turns=turns)
    rec = Recorder(ensure_schema(url))
    run_id = rec.create_run(name="claims", scenario_path=str(SMOKE), scenario_yaml="", config={}, model="scripted",
                            backend="scripted", seed=0, command="test")
    rec.plan_episodes(run_id, plan_episodes(scenario))
    return scenario, rec, run_id


def runner(scenario, url: str, turns: int, batch_size: int = 2, poll_s: float = 0.2):
    from agentloop.launch import task_resolver
    from store.recorder import Recorder
    from agentloop.runner import Runner, RunnerOptions
    from agentloop.sandbox import get_sandbox
    from store import open_store

    options = RunnerOptions(turns=turns, batch_size=batch_size, mode="off", workers=1, claim_poll_s=poll_s)
    return Runner(options, Recorder(open_store(url)), SlowPolicy(), get_sandbox("auto"), None, task_resolver(scenario))


def check_every_episode_once(rec, run_id: int, episodes: int, turns: int) -> dict[str, int]:
    """All done; per episode turn indices 0..k contiguous, none twice; returns episodes per worker."""
    from store import models as m

    with rec.store.session(readonly=True) as s:
        eps = s.scalars(select(m.EpisodeRow).where(m.EpisodeRow.run_id == run_id)).all()
        assert len(eps) == episodes and {e.status for e in eps} == {"done"}
        for e in eps:
            idx = sorted(t.index for t in e.turns)
            assert idx == list(range(len(idx))) and 1 <= len(idx) <= turns, (e.index, idx)
        assert s.scalar(select(func.count()).select_from(m.TurnRow)) == sum(len(e.turns) for e in eps)
        per_worker: dict[str, int] = {}
        for e in eps:
            per_worker[e.claimed_by] = per_worker.get(e.claimed_by, 0) + 1
        return per_worker


def test_three_runners_split_a_run(url):
    scenario, rec, run_id = make_run(url, episodes=9, turns=2)
    runners = [runner(scenario, url, turns=2, batch_size=1) for _ in range(3)]
    errors: list[BaseException] = []

    def go(r) -> None:
        try:
            r.run(run_id)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, errors
    per_worker = check_every_episode_once(rec, run_id, 9, 2)
    assert set(per_worker) <= {r.worker for r in runners} and sum(per_worker.values()) == 9
    assert len(per_worker) >= 2, f"the work was split: {per_worker}"
    assert sum(r.stats.turns for r in runners) == sum(1 for _ in _turns(rec))  # no turn written twice


def _turns(rec):
    from store import models as m

    with rec.store.session(readonly=True) as s:
        return s.scalars(select(m.TurnRow.id)).all()


def test_waiting_runner_takes_over_a_dead_workers_episodes(url, tmp_path):
    """Another process claims two episodes (lease: one hour) and holds them; a runner finishes the
    rest, then waits instead of leaving; the holder is killed with SIGKILL, and the waiting runner
    takes its episodes over at once and finishes the run."""
    scenario, rec, run_id = make_run(url, episodes=4, turns=1)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, str(HOLDER), url, str(run_id), "2", str(tmp_path), "1", "hold"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        held = set(json.loads(holder.stdout.readline())["episodes"])
        r = runner(scenario, url, turns=1, batch_size=1)
        thread = threading.Thread(target=r.run, args=(run_id,))
        thread.start()
        deadline = time.monotonic() + 120
        while r.stats.episodes_done < 2 and time.monotonic() < deadline:  # its own two are done ...
            time.sleep(0.1)
        time.sleep(1.0)
        assert thread.is_alive(), "... and it waits for the held ones"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    thread.join(120)
    assert not thread.is_alive()
    per_worker = check_every_episode_once(rec, run_id, 4, 1)
    assert per_worker == {r.worker: 4}
    assert r.stats.episodes_done == 4 and r.stats.turns == 4
    assert rec.count_unfinished(run_id) == 0
    assert len(held) == 2
