"""Failures inside a run: an engine error fails its episodes (stored, with the error) but not the run;
Ctrl-C stops after the current turn, which is stored, and the rest stays resumable; so it does for several
runs' episodes stepped together (an experiment's `--overlap` and `--cells together`).

Only the policy is scripted (to fail or signal on cue); the runner, recorder, SQLite store, sandbox and
detectors are real, and no model is loaded.
"""

from __future__ import annotations

import os
import signal
import pytest
from sqlalchemy import select

from _scripted import ScriptedPolicy, planned_run
from agentloop.core.errors import EngineError
from agentloop.core.paths import repo_root

SMOKE = repo_root() / "scenarios" / "smoke.yaml"
ANSWER = "I will do it properly.\n```python\ndef placeholder():\n    return None\n```"


def _runner(db_path, policy: ScriptedPolicy, episodes: int, turns: int):
    from agentloop.launch import task_resolver
    from agentloop.runner import Runner, RunnerOptions
    from agentloop.sandbox import get_sandbox
    from agentloop.config.scenario import load_scenario

    scenario = load_scenario(SMOKE).with_overrides(episodes=episodes, turns=turns)
    store, rec, run_id = planned_run(db_path, scenario, "failures")
    runner = Runner(RunnerOptions(turns=turns, batch_size=1, mode="off"), rec, policy, get_sandbox("auto"), None,
                    task_resolver(scenario))
    return store, rec, run_id, runner


def _run(tmp_path, policy: ScriptedPolicy, episodes: int, turns: int):
    store, rec, run_id, runner = _runner(tmp_path / "run.db", policy, episodes, turns)
    runner.run(run_id)
    return store, rec, run_id, runner


def _episodes(store) -> list[tuple]:
    from store import models as m

    with store.session() as s:
        return [(e.index, e.status, e.outcome, e.error, len(e.turns))
                for e in s.scalars(select(m.EpisodeRow).order_by(m.EpisodeRow.index))]


def test_engine_error_fails_the_episode_not_the_run(tmp_path):
    def server_down_once(n: int) -> None:
        if n == 0:
            raise EngineError("server http://127.0.0.1:9/v1 is unreachable")

    store, rec, run_id, _ = _run(tmp_path, ScriptedPolicy(ANSWER, server_down_once), episodes=2, turns=1)
    first, second = _episodes(store)
    assert first[1:3] == ("failed", "error") and "EngineError: server http://127.0.0.1:9/v1" in first[3]
    assert first[4] == 0  # nothing half-stored
    assert second[1] == "done" and second[3] is None and second[4] == 1  # the run went on
    assert rec.unfinished_episodes(run_id) == []


def test_ctrl_c_stops_after_the_current_turn(tmp_path):
    def ctrl_c_during_second_turn(n: int) -> None:
        if n == 1:
            os.kill(os.getpid(), signal.SIGINT)

    store, rec, run_id, runner = _run(tmp_path, ScriptedPolicy(ANSWER, ctrl_c_during_second_turn), episodes=2, turns=3)
    assert runner.stop_requested.is_set()
    first, second = _episodes(store)
    assert first[1] == "running" and first[4] == 2  # the interrupted turn finished and was stored
    assert second[1] == "pending" and second[4] == 0
    assert [p.episode_id for p in rec.unfinished_episodes(run_id)] == [_id(store, 0), _id(store, 1)]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored


def test_ctrl_c_stops_cells_stepped_together_after_the_current_turn(tmp_path):
    """Two runs' episodes in one loop (agentloop.cells.run_cells, as `agentloop experiment --overlap` steps
    them): Ctrl-C during the second policy call stops both after that turn, each stored, the rest resumable."""
    from agentloop.cells import Cell, run_cells

    def ctrl_c_during_second_call(n: int) -> None:
        if n == 1:
            os.kill(os.getpid(), signal.SIGINT)

    policy = ScriptedPolicy(ANSWER, ctrl_c_during_second_call)
    cells = [_runner(tmp_path / f"{name}.db", policy, episodes=2, turns=3) for name in ("a", "b")]
    run_cells([Cell(runner, run_id) for _, _, run_id, runner in cells])
    assert cells[0][3].stop_requested.is_set() and policy.calls == 2
    for store, rec, run_id, _ in cells:
        first, second = _episodes(store)
        assert first[1] == "running" and first[4] == 2  # the interrupted turn finished and was stored
        assert second[1] == "pending" and len(rec.unfinished_episodes(run_id)) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored


def _id(store, index: int) -> int:
    from store import models as m

    with store.session() as s:
        return s.scalar(select(m.EpisodeRow.id).where(m.EpisodeRow.index == index))


@pytest.fixture(autouse=True)
def _default_sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
