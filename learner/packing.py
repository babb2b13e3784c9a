"""Preference pairs with their prompt computed once: each pair is one row [prompt, chosen, rejected].

A pair's two rows in TRL's layout repeat the prompt, and an agent turn's prompt (system, task,
test files) is most of its tokens. Packed, a row holds the prompt once, then the chosen answer,
then the rejected one; a 4-D attention mask keeps the rejected tokens from seeing the chosen ones,
and the rejected tokens' position ids restart where the prompt ends, so every answer token sees
exactly the context it has in its own row ("prefix sharing", Wang et al. 2024, arXiv 2410.20305).
The last prompt position predicts the first token of both answers.

    batch = collate_packed(pairs, pad_token_id, device)      # learner/train.py, learner.shared_prompt
    logps = completion_logps(model, batch)                   # [chosen..., rejected...], as unpacked

Mathematically the same log-probs as the unpacked rows (tests/learner/test_fast_loss.py: fp32 within
float rounding); the sequences are shorter by one prompt per pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from learner import segment_attention
from learner.encode import EncodedPair
from learner.projection import project
from learner.segment_attention import SPANS

PACKED = "packed_segments"  # the key that marks a packed batch (learner/loss.py dispatches on it)


def collate_packed(pairs: Sequence[EncodedPair], pad_token_id: int, device: torch.device | str) -> dict[str, torch.Tensor]:
    """Rows [prompt, chosen, rejected], right-padded, with:

    - attention_mask [B, 1, T, T] bool: causal, minus rejected->chosen; a pad position sees itself only;
    - position_ids [B, T]: the rejected answer's restart at len(prompt);
    - gather_rows, gather_cols, targets [N]: each trained token's predicting position and its id;
    - packed_segments [N]: which completion it belongs to, chosen i -> i, rejected i -> B + i;
    - row_spans: each row's (prompt, chosen, rejected) lengths, for attention by segment
      (learner/segment_attention.py).
    """
    if any(not p.prompt_ids for p in pairs):
        raise ValueError("a packed pair needs a prompt (its last token predicts both answers)")
    width = max(len(p.prompt_ids) + len(p.chosen_ids) + len(p.rejected_ids) for p in pairs)
    n = len(pairs)
    ids = torch.full((n, width), pad_token_id, dtype=torch.long)
    positions = torch.zeros((n, width), dtype=torch.long)
    mask = torch.zeros((n, width, width), dtype=torch.bool)
    rows: list[int] = []
    cols: list[int] = []
    targets: list[int] = []
    segments: list[int] = []
    causal = torch.ones((width, width), dtype=torch.bool).tril()
    for row, pair in enumerate(pairs):
        lp, lc, lr = len(pair.prompt_ids), len(pair.chosen_ids), len(pair.rejected_ids)
        end = lp + lc + lr
        ids[row, :end] = torch.tensor(pair.prompt_ids + pair.chosen_ids + pair.rejected_ids)
        positions[row, :lp + lc] = torch.arange(lp + lc)
        positions[row, lp + lc:end] = torch.arange(lp, lp + lr)
        positions[row, end:] = torch.arange(width - end) + lp + max(lc, lr)
        mask[row, :end, :end] = causal[:end, :end]
        mask[row, lp + lc:end, lp:lp + lc] = False  # the rejected answer never sees the chosen one
        mask[row, range(end, width), range(end, width)] = True  # padding: itself only (no all-masked row)
        for k, token in enumerate(pair.chosen_ids):  # chosen token k is predicted at position lp - 1 + k
            rows.append(row), cols.append(lp - 1 + k), targets.append(token), segments.append(row)
        for k, token in enumerate(pair.rejected_ids):  # the first from the prompt's last position
            rows.append(row), cols.append(lp - 1 if k == 0 else lp + lc + k - 1), targets.append(token)
            segments.append(n + row)
    as_tensor = lambda xs: torch.tensor(xs, dtype=torch.long, device=device)  # noqa: E731
    return {"input_ids": ids.to(device), "attention_mask": mask.unsqueeze(1).to(device),
            "position_ids": positions.to(device), "gather_rows": as_tensor(rows), "gather_cols": as_tensor(cols),
            "targets": as_tensor(targets), PACKED: as_tensor(segments),
            SPANS: [(len(p.prompt_ids), len(p.chosen_ids), len(p.rejected_ids)) for p in pairs]}


def packed_completion_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed log-prob of each completion of a packed batch, [2B] as [chosen..., rejected...]: attending by segment
    where the model allows it (learner/segment_attention.py), else through the dense 4-D mask."""
    inputs = dict(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False,
                  output_hidden_states=True, logits_to_keep=1)
    out = segment_attention.forward(model, batch[SPANS], batch["attention_mask"], **inputs)
    hidden = out.hidden_states[-1][batch["gather_rows"], batch["gather_cols"]]  # [N, H]
    logits = project(model, hidden).float()
    picked = logits.gather(1, batch["targets"].unsqueeze(1)).squeeze(1) - logits.logsumexp(-1)
    sums = torch.zeros(2 * batch["input_ids"].shape[0], dtype=picked.dtype, device=picked.device)
    return sums.index_add(0, batch[PACKED], picked)
