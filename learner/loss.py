"""The two loss components of a round, as plain functions of a model and a padded batch.

- task: mean NLL of the task data's assistant tokens (prompt tokens carry label -100);
- DPO (sigmoid, Rafailov et al. 2023): -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))),
  where the reference is the *same* PEFT model with its adapters disabled (the frozen copy).

The same functions serve training and the before/after evaluation, so what a test measures is
exactly what the round optimised. Preference batches are TRL's layout
(`trl.trainer.dpo_trainer.DataCollatorForPreference`): rows [chosen..., rejected...] with a
`completion_mask` marking answer tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def completion_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed log-prob of each row's completion tokens; shape [rows]."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
    logits = out.logits[:, :-1].float()  # [rows, T-1, V]: position t predicts token t+1
    targets = batch["input_ids"][:, 1:]
    mask = batch["completion_mask"][:, 1:].to(logits.dtype)
    token_logps = torch.gather(logits.log_softmax(-1), 2, targets.unsqueeze(-1)).squeeze(-1)
    return (token_logps * mask).sum(-1)


def reference_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """`completion_logps` of the frozen copy: the PEFT model with adapters disabled, no grad."""
    with torch.no_grad(), model.disable_adapter():
        return completion_logps(model, batch)


@dataclass
class DpoTerms:
    """DPO loss of a batch with the numbers worth logging next to it."""

    loss: torch.Tensor  # scalar, mean over pairs
    logp_margin: float  # mean policy log P(chosen) - log P(rejected)
    reward_margin: float  # mean beta * (chosen log-ratio - rejected log-ratio)
    accuracy: float  # share of pairs whose implicit reward prefers chosen


def dpo_terms(model: torch.nn.Module, batch: dict[str, torch.Tensor], beta: float) -> DpoTerms:
    """DPO on a preference batch; gradients flow through the policy half only."""
    ref_chosen, ref_rejected = reference_logps(model, batch).chunk(2)
    chosen, rejected = completion_logps(model, batch).chunk(2)
    rewards = beta * ((chosen - ref_chosen) - (rejected - ref_rejected))
    return DpoTerms(
        loss=-F.logsigmoid(rewards).mean(),
        logp_margin=(chosen - rejected).mean().item(),
        reward_margin=rewards.mean().item(),
        accuracy=(rewards > 0).float().mean().item(),
    )


def task_nll(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean NLL over the labelled (assistant) tokens; HF shifts labels and ignores -100."""
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"],
                 use_cache=False).loss
