"""Attention by segment (learner/segment_attention.py) gives the dense path's log-probs and gradients.

A small Llama with random weights (fp32, GQA as in SmolLM2) and a LoRA (conftest's make_tiny_policy): packed
pairs [prompt, chosen, rejected] against their dense 4-D mask, and right-padded task rows against their padding
mask, on the CPU's matmul blocks and on SDPA blocks (what a GPU or a long block takes).
"""

from __future__ import annotations

import pytest
import torch

from learner import segment_attention
from learner.encode import EncodedPair, collate_task
from learner.loss import completion_logps, task_nll
from learner.packing import collate_packed


@pytest.fixture(scope="module")
def policy(make_tiny_policy):
    return make_tiny_policy()


def _ids(n: int, start: int) -> list[int]:
    return [(start + 7 * i) % 90 + 3 for i in range(n)]


PAIRS = [EncodedPair(_ids(23, 1), _ids(9, 2), _ids(14, 3)), EncodedPair(_ids(31, 4), _ids(12, 5), _ids(5, 6)),
         EncodedPair(_ids(6, 7), _ids(1, 8), _ids(20, 9))]
TASK = [{"input_ids": _ids(n, n), "labels": [-100] * (n // 2) + _ids(n, n)[n // 2:]} for n in (40, 17, 29)]


def _logps_and_grad(model, fn, segments: bool, monkeypatch) -> tuple[torch.Tensor, torch.Tensor]:
    monkeypatch.setattr(segment_attention, "supported", lambda m: segments)
    model.zero_grad()
    out = fn(model)
    out.sum().backward()
    grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])
    return out.detach(), grad


@pytest.mark.parametrize("blocks", ["matmul", "sdpa"])
@pytest.mark.parametrize("kind", ["packed pairs", "padded rows"])
def test_segments_equal_the_dense_mask(policy, monkeypatch, blocks, kind):
    if blocks == "sdpa":
        monkeypatch.setattr(segment_attention, "MATMUL_MAX", 0)
    if kind == "packed pairs":
        batch = collate_packed(PAIRS, 0, "cpu")
        fn = lambda m: completion_logps(m, batch)  # noqa: E731
    else:
        batch = collate_task(TASK, 0, "cpu")
        fn = lambda m: task_nll(m, batch, reduction="example")[None]  # noqa: E731
    dense, dense_grad = _logps_and_grad(policy, fn, False, monkeypatch)
    seg, seg_grad = _logps_and_grad(policy, fn, True, monkeypatch)
    assert torch.allclose(seg, dense, atol=1e-5, rtol=1e-5), (seg, dense)
    assert ((seg_grad - dense_grad).norm() / dense_grad.norm()).item() < 1e-5
    assert dense_grad.norm() > 0


def test_the_segment_path_is_taken(policy, monkeypatch):
    """The packed and padded batches really run through the registered function when supported."""
    calls = []
    original = segment_attention.segment_attention

    def counting(*args, **kwargs):
        calls.append(len(kwargs[segment_attention.SPANS]))
        return original(*args, **kwargs)

    from transformers import AttentionInterface

    AttentionInterface.register(segment_attention.NAME, counting)
    try:
        with torch.no_grad():
            completion_logps(policy, collate_packed(PAIRS, 0, "cpu"))
            task_nll(policy, collate_task(TASK, 0, "cpu"))
    finally:
        AttentionInterface.register(segment_attention.NAME, original)
    assert calls == [3, 3, 3, 3]  # 2 layers x (the packed batch, the padded batch), 3 rows each
    assert policy.config._attn_implementation == "sdpa"  # restored after each forward


def test_right_padded_spans():
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    assert segment_attention.right_padded_spans(mask) == [(3, 0, 0), (4, 0, 0)]
    assert segment_attention.right_padded_spans(torch.tensor([[0, 1, 1], [1, 1, 1]])) is None  # left padding
    assert segment_attention.right_padded_spans(torch.tensor([[1, 0, 1]])) is None
    assert segment_attention.right_padded_spans(torch.ones(1, 1, 3, 3)) is None


def test_supported_only_for_plain_sdpa(policy):
    from types import SimpleNamespace

    assert segment_attention.supported(policy)
    for config in (SimpleNamespace(_attn_implementation="eager"),
                   SimpleNamespace(_attn_implementation="sdpa", layer_types=["sliding_attention", "full_attention"]),
                   SimpleNamespace(_attn_implementation="sdpa", use_sliding_window=True),
                   SimpleNamespace(_attn_implementation="sdpa", attn_logit_softcapping=50.0)):
        assert not segment_attention.supported(SimpleNamespace(config=config))
