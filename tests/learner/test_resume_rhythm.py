"""A resumed run keeps the learner's `every_episodes` rhythm: rounds are counted from the episodes
finished when the run's newest round started, not from 0 (which trained again at once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agentloop.launch import Learning
from agentloop.core.paths import repo_root
from agentloop.config.scenario import load_scenario
from store import models as m
from store.session import ensure_schema

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _run_with(db_url: str, finished_minutes: list[int], round_minutes: list[int]) -> int:
    """A run whose episodes finished (and whose rounds started) at these minutes after T0."""
    store = ensure_schema(db_url)
    with store.session() as s:
        run = m.RunRow(name="rhythm", model="embedded", backend="vllm")
        s.add(run)
        s.flush()
        for i, minute in enumerate(finished_minutes + [None, None]):  # plus two unfinished episodes
            s.add(m.EpisodeRow(run_id=run.id, index=i, task_family="sum_even", task_kind="honest",
                               status="done" if minute is not None else "pending",
                               finished_at=None if minute is None else T0 + timedelta(minutes=minute)))
        for v, minute in enumerate(round_minutes, 1):
            s.add(m.TrainingRoundRow(run_id=run.id, version=v, status="done",
                                     started_at=T0 + timedelta(minutes=minute)))
        return run.id


def test_learning_counts_from_the_last_round(tmp_path):
    scenario = load_scenario(repo_root() / "scenarios" / "codehack_multiturn.yaml")
    cases = [([], [], 0),  # fresh run
             ([1, 2], [], 0),  # no round yet: the first one is due after every_episodes
             ([1, 2, 3, 4, 6, 7], [5], 4),  # round after 4 episodes, then 2 more finished
             ([1, 2, 3, 4, 6, 7], [5, 8], 6)]  # the newest round counts
    for n, (finished, rounds, expected) in enumerate(cases):
        db_url = f"sqlite:///{tmp_path / f'case{n}.db'}"
        run_id = _run_with(db_url, finished, rounds)
        learning = Learning(scenario, db_url, run_id, "embedded", tmp_path)
        assert learning.last_round_at == expected, (finished, rounds)
