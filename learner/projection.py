"""The model's vocabulary projection of final hidden states: the one step both the loss
(learner/loss.py) and packed pairs (learner/packing.py) need, kept apart so neither imports the other."""

from __future__ import annotations

import torch


def project(model: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """The model's vocabulary projection of final hidden states, with its logit soft-capping if any."""
    logits = model.get_output_embeddings()(hidden)
    cap = getattr(model.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits
