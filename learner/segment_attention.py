"""Training attention by segment: each row's causal blocks, not one dense mask over the padded batch.

The learner's batches are right-padded rows and packed pairs [prompt, chosen, rejected] (learner/packing.py).
Through HF's SDPA path both carry an explicit mask (padding, or the packed 4-D one), so the CPU's flash kernel
computes and backpropagates every block of T x T, half of them masked. By segment, a row is at most two
attention calls: [prompt, chosen] causal, and the rejected answer's queries against [prompt, rejected] keys
(it never sees the chosen answer; a plain row has no rejected part). On the CPU each call is two matmuls and a
float32 softmax (HF's eager attention, which runs on the fast bf16 GEMMs: the flash kernel is ~4x slower per
FLOP here); on a GPU, and for blocks longer than `MATMUL_MAX`, it is SDPA. Every token sees exactly the keys
the dense mask lets it see, so log-probs and gradients equal the dense path's to float rounding
(tests/learner/test_segment_attention.py); bench/round_speed.py has the speed.

Used only where the dense path would be plain SDPA over full-attention layers (`supported`): another attention
implementation, sliding windows or attention soft-capping would not be reproduced, so those keep the dense path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

NAME = "agentloop_segments"  # the attention implementation registered below
SPANS = "row_spans"  # the forward kwarg: each row's (prompt, chosen, rejected) lengths; a plain row is (n, 0, 0)
MATMUL_MAX = 2048  # longer blocks use SDPA on the CPU too: a matmul block keeps [heads, L, L] scores for backward

Span = tuple[int, int, int]


def _attend(module: torch.nn.Module, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout: float,
            scaling: float | None) -> torch.Tensor:
    """One causal block, aligned at its end: q [1, H, Lq, D] over k/v [1, Hkv, Lk, D] (Lk >= Lq), query i seeing
    keys 0..Lk - Lq + i -> [1, Lq, H, D]."""
    offset = k.shape[2] - q.shape[2]
    sees = lambda: torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril(offset)  # noqa: E731
    if q.device.type != "cpu" or k.shape[2] > MATMUL_MAX:  # SDPA builds the plain causal mask itself
        out, _ = sdpa_attention_forward(module, q, k, v, sees()[None, None] if offset else None, dropout=dropout,
                                        scaling=scaling, is_causal=not offset)
        return out
    groups = getattr(module, "num_key_value_groups", 1)
    k, v = repeat_kv(k, groups), repeat_kv(v, groups)
    scale = scaling if scaling is not None else q.shape[-1] ** -0.5
    scores = torch.matmul(q, k.transpose(2, 3)) * scale
    weights = F.softmax(scores.masked_fill(~sees(), float("-inf")), dim=-1, dtype=torch.float32).to(q.dtype)
    weights = F.dropout(weights, p=dropout, training=module.training)
    return torch.matmul(weights, v).transpose(1, 2)


def segment_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                      **kwargs: Any) -> tuple[torch.Tensor, None]:
    """query [B, H, T, D], key/value [B, Hkv, T, D] -> [B, T, H, D] (sdpa_attention_forward's layout). Padding
    positions get zeros: no trained token reads them."""
    spans: Sequence[Span] = kwargs[SPANS]
    width = query.shape[2]
    rows = []
    for b, (lp, lc, lr) in enumerate(spans):
        a, end = lp + lc, lp + lc + lr
        q, k, v = query[b:b + 1], key[b:b + 1], value[b:b + 1]
        parts = [_attend(module, q[:, :, :a], k[:, :, :a], v[:, :, :a], dropout, scaling)]
        if lr:  # rejected token j sees the prompt and rejected tokens 0..j: [prompt, rejected] keys, end-aligned
            keys, values = torch.cat([k[:, :, :lp], k[:, :, a:end]], 2), torch.cat([v[:, :, :lp], v[:, :, a:end]], 2)
            parts.append(_attend(module, q[:, :, a:end], keys, values, dropout, scaling))
        parts.append(parts[0].new_zeros(1, width - end, *parts[0].shape[2:]))
        rows.append(torch.cat(parts, 1))
    return torch.cat(rows, 0), None


AttentionInterface.register(NAME, segment_attention)


def supported(model: torch.nn.Module) -> bool:
    """Whether the model's dense path is plain SDPA over full-attention layers, what the segments reproduce."""
    config = model.config
    layer_types = getattr(config, "layer_types", None) or ["full_attention"]
    plain = not getattr(config, "use_sliding_window", False) and not getattr(config, "attn_logit_softcapping", None)
    return config._attn_implementation == "sdpa" and all(t == "full_attention" for t in layer_types) and plain


def right_padded_spans(attention_mask: torch.Tensor) -> list[Span] | None:
    """A [B, T] 0/1 mask's rows as plain spans (n, 0, 0) when each is ones then zeros (right padding, what the
    learner's collators build); None otherwise."""
    if attention_mask.dim() != 2:
        return None
    lengths = attention_mask.sum(-1)
    ones = torch.arange(attention_mask.shape[-1], device=attention_mask.device)[None] < lengths[:, None]
    if not torch.equal(attention_mask.bool(), ones) or bool((lengths == 0).any()):
        return None
    return [(int(n), 0, 0) for n in lengths.tolist()]


@contextmanager
def _by_segments(model: torch.nn.Module) -> Iterator[None]:
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = before


def forward(model: torch.nn.Module, spans: Sequence[Span] | None, attention_mask: torch.Tensor, **inputs: Any) -> Any:
    """`model(**inputs)` attending by segment where the model allows it (`supported`) and the rows have `spans`
    (then no attention_mask: the spans say what each token sees), else over the dense `attention_mask`. The
    backward pass needs nothing more: autograd recorded the segment calls."""
    if spans is None or not supported(model):
        return model(**inputs, attention_mask=attention_mask)
    with _by_segments(model):
        return model(**inputs, **{SPANS: list(spans)})
