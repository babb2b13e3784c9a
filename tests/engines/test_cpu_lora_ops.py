"""The grouped CPU LoRA ops compute what vLLM's torch ops compute, without the per-token gather."""

from __future__ import annotations

import pytest
import torch

from agentloop.engines import cpu_lora_ops as ours

theirs = pytest.importorskip("vllm.lora.ops.torch_ops")


def _case(seed: int, tokens: int, slots: int, rank: int, dim: int, indices: list[int]):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(tokens, dim, generator=g), torch.randn(slots, 1, rank, dim, generator=g),
            torch.tensor(indices))


@pytest.mark.parametrize("indices", [[0, 2, 1, 2, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]])
def test_shrink_and_expand_equal_vllms(indices: list[int]) -> None:
    x, a, idx = _case(0, len(indices), 3, 4, 16, indices)
    for op in ("bgmv_shrink",):
        want, got = torch.zeros(len(indices), 4), torch.zeros(len(indices), 4)
        getattr(theirs, op)(x, a, want, idx, 0.5)
        getattr(ours, op)(x, a, got, idx, 0.5)
        torch.testing.assert_close(got, want)
    h, b, _ = _case(1, len(indices), 3, 16, 4, indices)  # expand: rank 4 -> out 16
    for add in (False, True):
        want, got = torch.ones(len(indices), 16), torch.ones(len(indices), 16)
        theirs.bgmv_expand(h, b, want, idx, add)
        ours.bgmv_expand(h, b, got, idx, add)
        torch.testing.assert_close(got, want)
        want, got = torch.ones(len(indices), 24), torch.ones(len(indices), 24)
        theirs.bgmv_expand_slice(h, b, want, idx, 8, 16, add)
        ours.bgmv_expand_slice(h, b, got, idx, 8, 16, add)
        torch.testing.assert_close(got, want)


def test_prefill_ops_expand_indices_per_sequence() -> None:
    seq_lens, per_seq = torch.tensor([2, 3, 1]), torch.tensor([1, 0, 1])
    x, a, _ = _case(2, 6, 2, 4, 16, [0] * 6)
    want, got = torch.zeros(6, 4), torch.zeros(6, 4)
    meta = (torch.tensor([0, 2, 5]), seq_lens, per_seq, 3, 3, 6)
    theirs.sgmv_shrink(x, a, want, *meta, 1.0)
    ours.sgmv_shrink(x, a, got, *meta, 1.0)
    torch.testing.assert_close(got, want)


def test_a_token_without_adapter_gets_no_delta() -> None:
    x, a, idx = _case(3, 4, 2, 4, 16, [0, -1, 1, -1])
    out = torch.full((4, 4), 7.0)
    ours.bgmv_shrink(x, a, out, idx, 1.0)
    assert torch.equal(out[1], torch.zeros(4)) and torch.equal(out[3], torch.zeros(4))
    torch.testing.assert_close(out[2], a[1, 0] @ x[2])
    y = torch.full((4, 16), 7.0)
    ours.bgmv_expand(out, a.transpose(2, 3).contiguous(), y, idx, add_inputs=True)
    assert torch.equal(y[1], torch.full((16,), 7.0))  # no adapter: untouched


def test_each_adapters_rows_are_a_slice_or_their_indices() -> None:
    found = ours.plan(torch.tensor([1, 1, 0, 0, -1, 1]))
    assert [slot for slot, _ in found] == [1, 0, -1]
    assert torch.equal(found[0][1], torch.tensor([0, 1, 5])) and found[1][1] == slice(2, 4) and found[2][1] == slice(4, 5)
    assert ours.plan(torch.tensor([0, 0, 1]), torch.tensor([2, 0, 3])) == ((0, slice(0, 2)), (1, slice(2, 5)))


def test_prefill_expand_slice_with_several_adapters_equals_vllms() -> None:
    seq_lens, per_seq = torch.tensor([2, 3, 1]), torch.tensor([1, 0, 1])
    h, b, _ = _case(4, 6, 2, 16, 4, [0] * 6)
    meta = (torch.tensor([0, 2, 5]), seq_lens, per_seq, 3, 3, 6)
    for add in (False, True):
        want, got = torch.ones(6, 40), torch.ones(6, 40)
        theirs.sgmv_expand_slice(h, b, want, *meta, 16, 16, add)
        ours.sgmv_expand_slice(h, b, got, *meta, 16, 16, add)
        torch.testing.assert_close(got, want)
