"""The combined loss on the embedded model (real PEFT, CPU): each arm trains only its component.

Numbers are measured with `evaluate` (a separate no-grad pass), never read from training logs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

pytestmark = pytest.mark.model


def _arm(embedded_model_path, preference_examples, task, config):
    from learner.train import encode_round, evaluate, load_policy, pick_device, train

    device, dtype = pick_device(config)
    model, tokenizer = load_policy(embedded_model_path, None, config, device, dtype)
    data = encode_round(tokenizer, preference_examples, task, config.max_length)
    before = evaluate(model, tokenizer, data, config.beta, device)
    log = train(model, tokenizer, data, config, device)
    after = evaluate(model, tokenizer, data, config.beta, device)
    return before, log, after


def test_task_only_arm_trains_the_task_loss_only(embedded_model_path, preference_examples, task_conversations, tiny_config):
    before, log, after = _arm(embedded_model_path, preference_examples, task_conversations, replace(tiny_config, dpo_weight=0.0))
    assert log.components == ("task",)
    assert all(s.dpo is None and s.logp_margin is None and s.task is not None for s in log.steps)
    assert set(log.summary()) == {"task", "total"}
    assert after.task_nll < before.task_nll - 0.2, (before, after)


def test_dpo_only_arm_moves_the_margin_not_the_task_loss(embedded_model_path, preference_examples, task_conversations, tiny_config):
    before, log, after = _arm(embedded_model_path, preference_examples, task_conversations, replace(tiny_config, task_weight=0.0))
    assert log.components == ("dpo",)
    assert all(s.task is None and s.dpo is not None for s in log.steps)
    assert before.dpo_loss == pytest.approx(0.6931, abs=1e-3)  # fresh LoRA (B = 0) is the reference itself
    assert after.dpo_loss < before.dpo_loss - 0.05, (before, after)
    assert after.logp_margin > before.logp_margin + 2.0, (before, after)
    # the task data was never trained on: its NLL stays near where it was
    assert abs(after.task_nll - before.task_nll) < 0.1, (before, after)


def test_no_pairs_trains_task_loss_and_says_so(embedded_model_path, task_conversations, tiny_config, caplog):
    with caplog.at_level("INFO", logger="learner.train"):
        _, log, _ = _arm(embedded_model_path, [], task_conversations, replace(tiny_config, steps=1))
    assert log.components == ("task",)
    assert "no preference pairs this round" in caplog.text
