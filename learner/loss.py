"""The two loss components of a round, as plain functions of a model and a padded batch.

- task: mean NLL of the task data's assistant tokens (prompt tokens carry label -100);
- kl: mean per-token KL(policy || frozen copy) over the same tokens (the `kl` control), the frozen
  copy being the model with its adapters disabled;
- DPO (sigmoid, Rafailov et al. 2023): -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))),
  where the reference is the *same* PEFT model with its adapters disabled (the frozen copy).

The same functions serve training and the before/after evaluation, so what a test measures is
exactly what the round optimised. Preference batches are TRL's layout
(`trl.trainer.dpo_trainer.DataCollatorForPreference`): rows [chosen..., rejected...] with a
`completion_mask` marking answer tokens.

Speed (`answer_logits_only=True`, the default): only the positions whose next token is trained
reach the vocabulary projection (the body's final hidden states gathered at those positions,
then the model's output embedding), and the log-prob of each target is its logit minus the
logsumexp of its row (no [rows, T, V] log-softmax materialised). Prompt and padding positions, the
bulk of an agent turn, cost no projection, and right-padded rows attend by segment
(learner/segment_attention.py: no padding mask, so the masked half of T x T is never computed). `False` is the
full-vocabulary path over the dense mask, kept as the reference the fast one is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from learner import segment_attention
from learner.packing import PACKED, packed_completion_logps
from learner.projection import project


def _log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """logits - logsumexp, as `_target_logps` computes them: on an AVX2-only EPYC torch's fp32 log_softmax was
    1.7e-5 off a float64 mean NLL (relative), logits - logsumexp 1e-7."""
    return logits - logits.logsumexp(-1, keepdim=True)


def _target_logps(model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  trained: torch.Tensor, answer_logits_only: bool = True) -> torch.Tensor:
    """log P(input_ids[:, t+1] | ...) at every position t whose target is trained, 0 elsewhere; [rows, T-1].

    `trained`: [rows, T] 0/1, which tokens count (labels != -100, or the completion mask)."""
    targets, mask = input_ids[:, 1:], trained[:, 1:].bool()
    if not answer_logits_only:
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[:, :-1].float()
        logps = torch.gather(_log_softmax(logits), 2, targets.unsqueeze(-1)).squeeze(-1)
        return logps * mask.to(logps.dtype)
    logits, rows, cols = _answer_logits(model, input_ids, attention_mask, mask)
    picked = logits.gather(1, targets[rows, cols].unsqueeze(1)).squeeze(1) - logits.logsumexp(-1)
    result = torch.zeros(targets.shape, dtype=picked.dtype, device=picked.device)
    return result.index_put((rows, cols), picked)


def _answer_logits(model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fp32 logits [N, V] at the N positions `mask` ([rows, T-1]) marks, and those (rows, cols):
    only they reach the vocabulary projection."""
    rows, cols = mask.nonzero(as_tuple=True)  # the trained (row, position) pairs, N of them
    # the body's last hidden states (logits of one position only), attending by segment where the model allows
    inputs = dict(input_ids=input_ids, use_cache=False, output_hidden_states=True, logits_to_keep=1)
    spans = segment_attention.right_padded_spans(attention_mask)
    out = segment_attention.forward(model, spans, attention_mask, **inputs)
    hidden = out.hidden_states[-1][rows, cols]  # [N, H], contiguous (a strided slice leaves bf16's fast matmul)
    return project(model, hidden).float(), rows, cols


def completion_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                     answer_logits_only: bool = True) -> torch.Tensor:
    """Summed log-prob of each row's completion tokens; shape [rows] (a packed batch, learner/packing.py:
    [chosen..., rejected...] of its pairs, always on the answer-logits path)."""
    if PACKED in batch:
        return packed_completion_logps(model, batch)
    return _target_logps(model, batch["input_ids"], batch["attention_mask"], batch["completion_mask"],
                         answer_logits_only).sum(-1)


def reference_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                    answer_logits_only: bool = True) -> torch.Tensor:
    """`completion_logps` of the frozen copy: the PEFT model with adapters disabled, no grad, in eval mode (the
    frozen copy is one deterministic model: a base with dropout gets none here, so a batch's reference can be
    reused within a round, learner.train._step_losses)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), model.disable_adapter():
            return completion_logps(model, batch, answer_logits_only)
    finally:
        model.train(was_training)


@dataclass
class DpoTerms:
    """DPO loss of a batch with the numbers worth logging next to it."""

    loss: torch.Tensor  # scalar, mean over pairs
    logp_margin: float  # mean policy log P(chosen) - log P(rejected)
    reward_margin: float  # mean beta * (chosen log-ratio - rejected log-ratio)
    accuracy: float  # share of pairs whose implicit reward prefers chosen


def dpo_terms(model: torch.nn.Module, batch: dict[str, torch.Tensor], beta: float,
              reference: torch.Tensor | None = None, answer_logits_only: bool = True) -> DpoTerms:
    """DPO on a preference batch; gradients flow through the policy half only.

    `reference`: the frozen copy's `completion_logps` of these rows, when computed once per round
    beforehand (`[rows]`, chosen then rejected); None computes it here."""
    if reference is None:
        reference = reference_logps(model, batch, answer_logits_only)
    ref_chosen, ref_rejected = reference.chunk(2)
    chosen, rejected = completion_logps(model, batch, answer_logits_only).chunk(2)
    rewards = beta * ((chosen - ref_chosen) - (rejected - ref_rejected))
    return DpoTerms(
        loss=-F.logsigmoid(rewards).mean(),
        logp_margin=(chosen - rejected).mean().item(),
        reward_margin=rewards.mean().item(),
        accuracy=(rewards > 0).float().mean().item(),
    )


def task_nll(model: torch.nn.Module, batch: dict[str, torch.Tensor], answer_logits_only: bool = True,
             reduction: str = "token") -> torch.Tensor:
    """Mean NLL over the labelled (assistant) tokens of the batch: "token" weighs every token alike (HF's
    `labels` loss); "example" averages each example's tokens first, so a 4-token label row (a judge
    example) counts as much as a 300-token answer."""
    trained = batch["labels"] != -100
    logps = _target_logps(model, batch["input_ids"], batch["attention_mask"], trained, answer_logits_only)
    if reduction == "example":
        per_row = trained[:, 1:].sum(1)
        kept = per_row > 0
        return (-logps.sum(1)[kept] / per_row[kept]).mean()
    return -logps.sum() / trained[:, 1:].sum().clamp(min=1)


def _trained_logits(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                    answer_logits_only: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits predicting each labelled token, [N, V] (fp32), and those tokens, [N]."""
    targets, mask = batch["input_ids"][:, 1:], (batch["labels"] != -100)[:, 1:]
    if answer_logits_only:
        logits, rows, cols = _answer_logits(model, batch["input_ids"], batch["attention_mask"], mask)
        return logits, targets[rows, cols]
    rows, cols = mask.nonzero(as_tuple=True)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
    return logits[:, :-1][rows, cols].float(), targets[rows, cols]


def task_nll_kl(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                answer_logits_only: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(task NLL, mean per-token KL(policy || frozen copy)) over the labelled tokens, from one policy pass
    and one no-grad pass with the adapters disabled. The NLL equals `task_nll`'s."""
    logits, targets = _trained_logits(model, batch, answer_logits_only)
    logp = _log_softmax(logits)
    nll = -logp.gather(1, targets.unsqueeze(1)).mean()
    with torch.no_grad(), model.disable_adapter():
        ref = _log_softmax(_trained_logits(model, batch, answer_logits_only)[0])
    kl = (logp.exp() * (logp - ref)).sum(-1).mean()
    return nll, kl
