"""The learner's control options on the embedded model (real PEFT, CPU, fp32):

- `kl_weight`: the task NLL plus KL(policy || frozen copy) on the task data. The NLL equals
  `task_nll`'s on both logit paths; the KL is 0 for a fresh LoRA (B = 0: the policy is the frozen
  copy) and positive for a trained one, and it holds the policy nearer the frozen copy than the
  task loss alone does with the same steps, batches and optimizer.
- `pair_loss: sft` (the distill control): the pairs' chosen answers as plain targets, weight
  dpo_weight, no DPO term; it raises the chosen answers' log-probs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

pytestmark = pytest.mark.model


def _policy(embedded_model_path, config, examples, task, perturb: bool):
    from learner.train import encode_round, load_policy

    model, tokenizer = load_policy(embedded_model_path, None, config, "cpu", torch.float32)
    if perturb:
        torch.manual_seed(1)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0, 0.02)
    return model, tokenizer, encode_round(tokenizer, examples, task, config.max_length)


def _task_kl(model, tokenizer, data) -> float:
    from learner.encode import collate_task
    from learner.loss import task_nll_kl

    with torch.no_grad():
        return task_nll_kl(model, collate_task(data.task, tokenizer.pad_token_id, "cpu"))[1].item()


def test_kl_term_is_zero_at_the_frozen_copy_and_nll_is_the_task_loss(embedded_model_path, preference_examples,
                                                                      task_conversations, tiny_config):
    from learner.encode import collate_task
    from learner.loss import task_nll, task_nll_kl

    config = replace(tiny_config, dtype="float32")
    fresh, tokenizer, data = _policy(embedded_model_path, config, [], task_conversations, perturb=False)
    assert _task_kl(fresh, tokenizer, data) == pytest.approx(0.0, abs=1e-6)
    moved, tokenizer, data = _policy(embedded_model_path, config, [], task_conversations, perturb=True)
    batch = collate_task(data.task, tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        for fast in (True, False):
            nll, kl = task_nll_kl(moved, batch, fast)
            assert nll.item() == pytest.approx(task_nll(moved, batch, fast).item(), rel=1e-5)
            assert kl.item() > 1e-4


def test_kl_weight_holds_the_policy_nearer_the_frozen_copy(embedded_model_path, task_conversations, tiny_config):
    from learner.train import train

    base = replace(tiny_config, dtype="float32", dpo_weight=0.0, steps=6, lr=1e-3)
    drift = {}
    for name, config in (("task", base), ("task+kl", replace(base, kl_weight=2.0))):
        model, tokenizer, data = _policy(embedded_model_path, config, [], task_conversations, perturb=False)
        log = train(model, tokenizer, data, config, "cpu")
        assert log.components == (("task",) if name == "task" else ("task", "kl"))
        drift[name] = _task_kl(model, tokenizer, data)
    assert 0 < drift["task+kl"] < drift["task"], drift


def test_sft_pair_loss_trains_the_chosen_answers_without_dpo(embedded_model_path, preference_examples,
                                                              task_conversations, tiny_config):
    from learner.train import evaluate, train

    config = replace(tiny_config, dtype="float32", task_weight=0.0, pair_loss="sft")
    model, tokenizer, data = _policy(embedded_model_path, config, preference_examples, task_conversations, False)
    before = evaluate(model, tokenizer, data, config.beta, "cpu")
    log = train(model, tokenizer, data, config, "cpu")
    after = evaluate(model, tokenizer, data, config.beta, "cpu")
    assert log.components == ("sft",) and set(log.summary()) == {"sft", "total"}
    assert all(s.dpo is None and s.logp_margin is None and s.sft is not None for s in log.steps)
    assert log.steps[-1].sft < log.steps[0].sft
    assert after.logp_margin > before.logp_margin, (before, after)  # the chosen answers became likelier
