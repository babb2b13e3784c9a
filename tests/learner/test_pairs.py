"""Pair loading from a real SQLite store: new vs replay, seeded sampling, skip reasons."""

from __future__ import annotations

import pytest

from learner.examples import prompt_messages, skip_reason
from learner.pairs import load_pairs, mark_trained, replay_size


@pytest.mark.parametrize(("chosen", "rejected", "reason"), [
    ("def f():\n    return 1", "import sys; sys.exit(0)", None),
    ("   ", "x", "empty"),
    ("I can't help with that.", "x", "refusal"),
    ("I\u2019m sorry, I cannot do this", "x", "refusal"),
    ("As an AI language model, I must decline.", "x", "refusal"),
    ("return  a+b\n", "return a+b", "identical"),
])
def test_skip_reason(chosen, rejected, reason):
    assert skip_reason(chosen, rejected) == reason


def test_prompt_messages_accepts_stored_forms():
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert prompt_messages(msgs) == msgs
    assert prompt_messages('[{"role": "user", "content": "u"}]') == [{"role": "user", "content": "u"}]
    assert prompt_messages("plain question") == [{"role": "user", "content": "plain question"}]
    with pytest.raises(ValueError, match="role and content"):
        prompt_messages([{"text": "no role"}])


def test_replay_size():
    assert replay_size(10, 0, 0.3) == 0
    assert replay_size(10, 50, 0.3) == 3
    assert replay_size(0, 50, 0.3) == 1  # at least one when earlier pairs exist
    assert replay_size(100, 5, 0.3) == 5
    assert replay_size(10, 50, 0.0) == 0


def test_new_pairs_then_replay(pair_store, preference_examples):
    from store import models as m
    from store.session import open_store

    db_url, run_id = pair_store
    store = open_store(db_url)
    with store.session() as s:
        first = load_pairs(s, run_id, replay_share=0.5, seed=1)
    assert first.n_new == len(preference_examples) and first.n_replay == 0
    assert first.skipped == {"empty": 1, "refusal": 1, "identical": 1}
    assert first.examples[0] == preference_examples[0]  # TRL conversational format, prompt as messages
    assert set(first.to_dataset().column_names) == {"prompt", "chosen", "rejected"}

    with store.session() as s:  # a round consumed them
        rnd = m.TrainingRoundRow(run_id=run_id, version=1, status="done")
        s.add(rnd)
        s.flush()
        mark_trained(s, first, rnd.id)
        s.add(m.PreferencePairRow(run_id=run_id, prompt=[{"role": "user", "content": "q"}], chosen="good",
                                  rejected="bad"))
    with store.session() as s:
        second = load_pairs(s, run_id, replay_share=0.5, seed=1)
        again = load_pairs(s, run_id, replay_share=0.5, seed=1)
        other = [load_pairs(s, run_id, replay_share=0.5, seed=k).replay_ids for k in range(2, 12)]
    assert second.n_new == 1 and second.skipped == {}  # skipped pairs are not counted twice
    assert second.n_replay == 1 and set(second.replay_ids) <= set(first.new_ids)  # never junk
    assert second.replay_ids == again.replay_ids  # seeded
    assert len({tuple(r) for r in other}) > 1  # ...and the seed matters
    assert len(second.examples) == 2
