"""Grouped LoRA ops for vLLM's CPU LoRA path (`lora_mode: requests`), installed by the vLLM engine.

    from agentloop.engines.cpu_lora_ops import install
    install()          # vllm.lora.punica_wrapper.punica_cpu now calls these; install(False): vLLM's own

vLLM's CPU punica ops (vllm/lora/ops/torch_ops) gather every token's adapter matrices
(`weights[indices]`: tokens x rank x dim copied per layer and step) and multiply token by token;
in a profile of an adapter batch the gather, its repeat_interleave and the per-token bmm took
~55% of the CPU time (bench/RESULTS.md). A sequence's tokens are contiguous rows and a batch
holds a few adapters, so one matmul per adapter over its rows (in place where they are
contiguous) does the same arithmetic, the rows worked out once per forward pass. A token without
an adapter (index -1) gets no delta; vLLM's gather read the last adapter slot for it (why base
and LoRA requests never share a call).
Works where vLLM runs the model in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0, set by
agentloop.engines.config.apply_cpu_env).
"""

from __future__ import annotations

import torch


Rows = slice | torch.Tensor  # one contiguous run of rows, or the row indices of a scattered slot
Plan = tuple[tuple[int, Rows], ...]  # (adapter slot, its rows) for each slot in the batch
_PLANS: dict[tuple, Plan] = {}  # every LoRA layer of a forward pass asks with the same indices


def plan(indices: torch.Tensor, seq_lens: torch.Tensor | None = None) -> Plan:
    """Each adapter slot's rows, from per-token indices or per-sequence indices with their lengths:
    a slice when they are contiguous (a sequence's tokens are; so is a call of one adapter), else
    an index tensor (vLLM's batch interleaves requests as they finish). Memoised: one forward
    pass's ~400 LoRA calls share it."""
    slots = indices.tolist()
    lens = seq_lens.tolist() if seq_lens is not None else [1] * len(slots)
    key = (tuple(slots), tuple(lens))
    found = _PLANS.get(key)
    if found is None:
        rows: dict[int, list[int]] = {}
        start = 0
        for slot, n in zip(slots, lens):
            rows.setdefault(slot, []).extend(range(start, start + n))
            start += n
        found = tuple((slot, slice(r[0], r[-1] + 1) if r[-1] - r[0] + 1 == len(r) else torch.tensor(r))
                      for slot, r in rows.items() if r)
        if len(_PLANS) > 256:
            _PLANS.clear()
        _PLANS[key] = found
    return found


def _weights(w: torch.Tensor) -> torch.Tensor:
    return w.squeeze(1) if w.dim() == 4 else w  # [slots, out, in]


def _write(target: torch.Tensor, rows: Rows, value: torch.Tensor | None, add: bool) -> None:
    """target[rows] = value, += value, or = 0 (value None)."""
    if isinstance(rows, slice):
        if value is None:
            target[rows].zero_()
        elif add:
            target[rows] += value
        else:
            target[rows] = value
    elif value is None:
        target.index_fill_(0, rows, 0)
    elif add:
        target.index_add_(0, rows, value)
    else:
        target.index_copy_(0, rows, value)


def _take(x: torch.Tensor, rows: Rows) -> torch.Tensor:
    return x[rows] if isinstance(rows, slice) else x.index_select(0, rows)


def shrink(x: torch.Tensor, weights: torch.Tensor, y: torch.Tensor, rows: Plan, scale: float) -> None:
    """y[r, :rank] = scale * weights[slot] @ x[r] for each slot's rows; zeros for rows without an adapter."""
    w = _weights(weights)
    target = y[:, :w.shape[1]]
    for slot, r in rows:
        if slot < 0:
            _write(target, r, None, add=False)
        elif isinstance(r, slice):  # beta=0: one in-place matmul, the old values ignored
            target[r].addmm_(x[r].to(y.dtype), w[slot].to(y.dtype).T, beta=0, alpha=scale)
        else:
            _write(target, r, torch.mm(_take(x, r).to(y.dtype), w[slot].to(y.dtype).T).mul_(scale), add=False)


def expand(h: torch.Tensor, weights: torch.Tensor, y: torch.Tensor, rows: Plan, offset: int, size: int,
           add: bool) -> None:
    """y[r, offset:offset+size] (+)= weights[slot] @ h[r] for each slot's rows (adapter and model may
    pad the output differently: the common width)."""
    w = _weights(weights)
    width = min(w.shape[1], size)
    target = y[:, offset:offset + width]
    for slot, r in rows:
        if slot < 0:
            if not add:
                _write(target, r, None, add=False)
        elif isinstance(r, slice):
            target[r].addmm_(h[r].to(y.dtype), w[slot, :width].to(y.dtype).T, beta=1 if add else 0)
        else:
            _write(target, r, torch.mm(_take(h, r).to(y.dtype), w[slot, :width].to(y.dtype).T), add)


def bgmv_shrink(inputs, lora_a_weights, output_tensor, lora_indices_tensor, scaling: float = 1.0) -> None:
    shrink(inputs, lora_a_weights, output_tensor, plan(lora_indices_tensor), scaling)


def bgmv_expand(inputs, lora_b_weights, output_tensor, lora_indices_tensor, add_inputs: bool = True) -> None:
    if lora_indices_tensor.shape[0] != output_tensor.shape[0]:  # vLLM's broadcast corner: its own op
        from vllm.lora.ops import torch_ops

        return torch_ops.bgmv_expand(inputs, lora_b_weights, output_tensor, lora_indices_tensor, add_inputs)
    expand(inputs, lora_b_weights, output_tensor, plan(lora_indices_tensor), 0, output_tensor.shape[1], add_inputs)


def bgmv_expand_slice(inputs, lora_b_weights, output_tensor, lora_indices_tensor, slice_offset: int,
                      slice_size: int, add_inputs: bool = True) -> None:
    expand(inputs, lora_b_weights, output_tensor, plan(lora_indices_tensor), slice_offset, slice_size, add_inputs)


def sgmv_shrink(inputs, lora_a_weights, output_tensor, b_seq_start_loc, seq_len_tensor, lora_indices_tensor,
                batches, max_seq_length, token_nums, scaling: float) -> None:
    shrink(inputs, lora_a_weights, output_tensor, plan(lora_indices_tensor, seq_len_tensor), scaling)


def sgmv_expand(inputs, lora_b_weights, output_tensor, b_seq_start_loc, seq_len_tensor, lora_indices_tensor,
                batches, max_seq_length, token_nums, add_inputs: bool = False) -> None:
    expand(inputs, lora_b_weights, output_tensor, plan(lora_indices_tensor, seq_len_tensor), 0,
           output_tensor.shape[1], add_inputs)


def sgmv_expand_slice(inputs, lora_b_weights, output_tensor, b_seq_start_loc, seq_len_tensor, lora_indices_tensor,
                      batches, max_seq_length, token_nums, slice_offset: int, slice_size: int,
                      add_inputs: bool = False) -> None:
    expand(inputs, lora_b_weights, output_tensor, plan(lora_indices_tensor, seq_len_tensor), slice_offset,
           slice_size, add_inputs)


OPS = {f.__name__: f for f in (bgmv_shrink, bgmv_expand, bgmv_expand_slice, sgmv_shrink, sgmv_expand,
                               sgmv_expand_slice)}


def install(grouped: bool = True) -> None:
    """Point vLLM's CPU punica wrapper (it looks its ops up as module globals at call time) at these
    ops, or with `grouped=False` back at vLLM's own."""
    from vllm.lora.ops import torch_ops
    from vllm.lora.punica_wrapper import punica_cpu

    if not all(hasattr(punica_cpu, name) and hasattr(torch_ops, name) for name in OPS):
        return  # a vLLM whose CPU path differs: keep it whole
    for name, op in OPS.items():
        setattr(punica_cpu, name, op if grouped else getattr(torch_ops, name))
