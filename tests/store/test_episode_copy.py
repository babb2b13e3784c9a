"""store.episode_copy on a store written through the runner's write API: a copied epoch scores exactly as
its source (every count of store.evaluation), lands after the target's own episodes, and refuses
unfinished episodes or episodes whose turns made preference pairs (those would train another run)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from _recorded_ablation import Pair, PairEpoch, record_ablation
from store import ensure_schema
from store.episode_copy import copy_episodes
from store.evaluation import evaluate_epoch
from store.models import EpisodeRow

EPISODES = [("impossible", ["fail", "hack"]), ("insecure", ["insecure"]), ("honest", ["parse", "pass"]),
            ("honest", ["stub"]), ("impossible", ["hack>pass"])]


@pytest.fixture
def store(tmp_path):
    store = ensure_schema(f"sqlite:///{tmp_path / 'copy.db'}")
    yield store
    store.dispose()


def _numbers(session, run_id: int) -> dict:
    return {k: v for k, v in dataclasses.asdict(evaluate_epoch(session, run_id, 0)).items() if k != "run_id"}


def test_a_copy_scores_as_its_source(store):
    runs = record_ablation(store, "copy", {("off", 0): {0: EPISODES}, ("self", 0): {1: EPISODES[:1]}},
                           judge={"hack": "unethical", "pass": "ethical", "fail": "neutral"})
    source, target = runs[("off", 0)], runs[("self", 0)]
    with store.session() as s:
        assert copy_episodes(s, source_run=source, target_run=target, epoch=0, split="eval") == len(EPISODES)
    with store.session(readonly=True) as s:
        assert _numbers(s, target) == _numbers(s, source)
        indices = s.scalars(select(EpisodeRow.index).where(EpisodeRow.run_id == target).order_by(EpisodeRow.index))
        assert list(indices) == list(range(1 + len(EPISODES)))  # after the target's own epoch-1 episode


def test_unfinished_or_paired_episodes_are_not_copied(store):
    runs = record_ablation(store, "copy", {("off", 0): {0: EPISODES[:1]}, ("self", 0): {0: EPISODES[:1]}},
                           pairs={("self", 0): {0: PairEpoch([Pair("honest")])}})
    with store.session() as s:  # the pairs' train episodes of self
        with pytest.raises(ValueError, match="preference pairs"):
            copy_episodes(s, source_run=runs[("self", 0)], target_run=runs[("off", 0)], epoch=0, split="train")
    with store.session() as s:
        s.add(EpisodeRow(run_id=runs[("off", 0)], index=99, epoch=3, split="eval", task_family="f",
                         task_kind="honest", status="pending"))
    with store.session() as s:
        with pytest.raises(ValueError, match="unfinished"):
            copy_episodes(s, source_run=runs[("off", 0)], target_run=runs[("self", 0)], epoch=3, split="eval")
