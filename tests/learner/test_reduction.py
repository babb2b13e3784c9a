"""`task_reduction`: "token" averages every labelled token of the batch, "example" each example's
tokens first, so a short label row (a judge example) weighs as much as a long answer. Checked on a
tiny randomly initialised Llama (no weights to load) against per-row means computed by hand."""

from __future__ import annotations

import pytest
import torch

from agentloop.config.learner_config import LearnerConfig
from agentloop.core.errors import ConfigError


@pytest.fixture(scope="module")
def tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64)
    return LlamaForCausalLM(config).eval()


def _batch() -> dict[str, torch.Tensor]:
    from learner.encode import collate_task

    long = {"input_ids": list(range(1, 31)), "labels": [-100] * 5 + list(range(6, 31))}  # 25 labelled tokens
    short = {"input_ids": list(range(2, 12)), "labels": [-100] * 8 + [10, 11]}  # 2 labelled tokens
    return collate_task([long, short], pad_token_id=0, device="cpu")


def test_example_reduction_weighs_each_row_alike(tiny_model):
    from learner.loss import _target_logps, task_nll

    batch = _batch()
    trained = batch["labels"] != -100
    with torch.no_grad():
        logps = _target_logps(tiny_model, batch["input_ids"], batch["attention_mask"], trained, False)
        per_row = -logps.sum(1) / trained[:, 1:].sum(1)
        by_token = task_nll(tiny_model, batch, answer_logits_only=False)
        by_example = task_nll(tiny_model, batch, answer_logits_only=False, reduction="example")
        fast = task_nll(tiny_model, batch, answer_logits_only=True, reduction="example")
    assert by_example.item() == pytest.approx(per_row.mean().item(), rel=1e-5)
    assert by_token.item() == pytest.approx((-logps.sum() / trained[:, 1:].sum()).item(), rel=1e-5)
    assert fast.item() == pytest.approx(by_example.item(), rel=1e-4)
    assert abs(by_example.item() - by_token.item()) > 1e-4  # the short row counts for more


def test_reduction_is_checked_and_kl_needs_tokens():
    with pytest.raises(ConfigError, match="learner.task_reduction must be one of token, example"):
        LearnerConfig(task_reduction="sentence")
    with pytest.raises(ConfigError, match="kl_weight averages over tokens"):
        LearnerConfig(kl_weight=0.1, task_reduction="example")
