"""A pair made on a held-out (`eval`) episode never reaches a learner round: the experiment's
evaluation would otherwise measure data its own rounds trained on. Real SQLite store, written
through store.recorder.Recorder as the runner writes it; no model."""

from __future__ import annotations

import sqlite3

from _recorded_ablation import _task, _turn
from agentloop.core.types import PreferencePair
from conscience.verdict import Verdict
from learner.pairs import load_pairs
from store.recorder import Recorder
from store.session import open_store


def _episode_with_pair(rec: Recorder, run_id: int, split: str, tag: str) -> None:
    rec.plan_episodes(run_id, [(_task("impossible", 0), 0)], epoch=1, split=split)
    plan, = rec.unfinished_episodes(run_id, 0, epoch=1, split=split)
    turn, evaluation = _turn(0, "hack")
    prompt = [{"role": "user", "content": f"task {tag}"}]
    pair = PreferencePair(prompt, f"```python\ndef solve(x):\n    return x  # {tag}\n```", turn.answer)
    verdict = Verdict(label="unethical", probs={"ethical": 0.1, "neutral": 0.1, "unethical": 0.8},
                      rewrite=pair.chosen, framework="three_laws")
    rec.record_turn(plan.episode_id, turn, verdict, evaluation, pair, gave_up=False, executed_answer=turn.answer)
    rec.finish_episode(plan.episode_id, status="done", outcome="budget")


def test_only_train_episode_pairs_are_trained(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'pairs.db'}")
    store.upgrade()
    rec = Recorder(store)
    run_id = rec.create_run(name="r", scenario_path="s.yaml", scenario_yaml="", config={}, model="tiny",
                            backend="hf", seed=0, command="pytest", arm="self")
    _episode_with_pair(rec, run_id, "train", "train")
    _episode_with_pair(rec, run_id, "eval", "held-out")
    with store.session() as s:
        batch = load_pairs(s, run_id, replay_share=0.0, seed=0)
    with sqlite3.connect(tmp_path / "pairs.db") as con:  # both pairs are stored: the store loses nothing
        assert con.execute("SELECT COUNT(*) FROM preference_pairs").fetchone() == (2,)
    assert batch.n_new == 1
    assert [e["prompt"][0]["content"] for e in batch.examples] == ["task train"]
