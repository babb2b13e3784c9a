"""learner.train.mixed_precision: a bf16 model's fp32 adapter computes in bf16 and still gets fp32 gradients;
an fp32 model trains as it is."""

from __future__ import annotations

import pytest
import torch

from learner.encode import collate_task
from learner.loss import task_nll
from learner.train import mixed_precision

ROWS = [{"input_ids": [(5 * i + n) % 90 + 3 for i in range(n)], "labels": [-100] * 4 + [(5 * i + n) % 90 + 3
                                                                                         for i in range(4, n)]}
        for n in (30, 21)]


def _loss_and_grads(model, mixed: bool) -> tuple[float, list[torch.Tensor]]:
    model.zero_grad()
    batch = collate_task(ROWS, 0, "cpu")
    if mixed:
        with mixed_precision(model, "cpu"):
            loss = task_nll(model, batch)
    else:
        loss = task_nll(model, batch)
    loss.backward()
    return loss.item(), [p.grad for p in model.parameters() if p.requires_grad]


def test_bf16_model_adapter_matmuls_in_bf16_with_fp32_gradients(make_tiny_policy):
    model = make_tiny_policy(torch.bfloat16)
    reference = make_tiny_policy(torch.float32)  # the same seed: the same weights, in fp32
    seen = []
    lora_a = next(m for n, m in model.named_modules() if n.endswith("q_proj.lora_A.default"))
    hook = lora_a.register_forward_hook(lambda module, args, out: seen.append((args[0].dtype, out.dtype)))
    try:
        mixed, grads = _loss_and_grads(model, True)
        plain, _ = _loss_and_grads(model, False)
    finally:
        hook.remove()
    exact, _ = _loss_and_grads(reference, False)
    assert seen[0] == (torch.bfloat16, torch.bfloat16)  # inside: bf16 in, bf16 out (no fp32 copy of the input)
    assert seen[-1] == (torch.float32, torch.float32)  # outside: PEFT's cast to the fp32 adapter, as before
    assert all(g.dtype == torch.float32 and g.abs().sum() > 0 for g in grads)
    assert mixed == pytest.approx(exact, rel=0.02) and plain == pytest.approx(exact, rel=0.02)
    assert torch.is_autocast_enabled("cpu") is False  # the block left no autocast behind


def test_fp32_model_trains_unchanged(make_tiny_policy):
    model = make_tiny_policy(torch.float32)
    with mixed_precision(model, "cpu"):
        assert not torch.is_autocast_enabled("cpu")
    mixed, mixed_grads = _loss_and_grads(model, True)
    plain, plain_grads = _loss_and_grads(model, False)
    assert mixed == plain
    assert all(torch.equal(a, b) for a, b in zip(mixed_grads, plain_grads))
