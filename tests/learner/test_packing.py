"""The packed preference batch's layout (learner/packing.py), without a model; that it gives the
unpacked log-probs, loss and gradients is tests/learner/test_fast_loss.py's."""

from __future__ import annotations

import pytest


def test_packed_rows_mask_the_chosen_answer_from_the_rejected_one():
    """The packing's layout on a 2-token prompt, 2 chosen and 1 rejected token, beside a longer pair."""
    from learner.encode import EncodedPair
    from learner.packing import PACKED, collate_packed

    short = EncodedPair(prompt_ids=[10, 11], chosen_ids=[20, 21], rejected_ids=[30])
    long = EncodedPair(prompt_ids=[1, 2, 3], chosen_ids=[4, 5], rejected_ids=[6, 7])
    batch = collate_packed([short, long], pad_token_id=0, device="cpu")
    assert batch["input_ids"][0].tolist() == [10, 11, 20, 21, 30, 0, 0]
    assert batch["position_ids"][0, :5].tolist() == [0, 1, 2, 3, 2]  # the rejected answer restarts at 2
    mask = batch["attention_mask"][0, 0].int()
    assert mask[4].tolist() == [1, 1, 0, 0, 1, 0, 0]  # rejected: prompt and itself, never the chosen
    assert mask[3].tolist() == [1, 1, 1, 1, 0, 0, 0]  # chosen: causal
    assert mask[5].tolist() == [0, 0, 0, 0, 0, 1, 0]  # padding: itself only
    # (row, predicting position, target, completion): chosen from positions 1, 2; rejected from 1
    got = list(zip(batch["gather_rows"].tolist(), batch["gather_cols"].tolist(), batch["targets"].tolist(),
                   batch[PACKED].tolist()))
    assert got[:3] == [(0, 1, 20, 0), (0, 2, 21, 0), (0, 1, 30, 2)]
    assert got[3:] == [(1, 2, 4, 1), (1, 3, 5, 1), (1, 2, 6, 3), (1, 5, 7, 3)]
    with pytest.raises(ValueError, match="needs a prompt"):
        collate_packed([EncodedPair([], [1], [2])], 0, "cpu")
