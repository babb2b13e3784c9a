"""Data parallelism for a round started by `accelerate launch` or `torchrun` (one process per GPU).

The launchers describe the group in the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT); without them a round is one process and every method here is a no-op. In a group:

- rank 0 alone talks to the store and the adapters folder: it takes the run's round lock, opens the
  round row, loads the pairs and task data and `broadcast`s them, and publishes the adapter;
- every rank trains on its own slice of each step's batch (`batch_size` is per process, as in HF's
  `per_device_train_batch_size`), and `average_gradients` makes their updates identical.

Gradients are averaged by hand rather than through a DDP wrapper: the trainable LoRA weights are a
few MB (one all-reduce of a flat buffer per step), and the DPO reference pass needs the bare PEFT
model (`disable_adapter`), which a DDP wrapper hides.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Group:
    """This process's place in the round's process group (rank 0 of 1 when not launched)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Group:
        env = os.environ
        return cls(rank=int(env.get("RANK", 0)), world_size=int(env.get("WORLD_SIZE", 1)),
                   local_rank=int(env.get("LOCAL_RANK", 0)))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def start(self, device: str) -> None:
        """Join the group: NCCL on GPUs (this rank's GPU made current), gloo on CPU."""
        if not self.active or dist.is_initialized():
            return
        if device == "cuda":
            torch.cuda.set_device(self.local_rank)
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
        log.info("round process group: rank %d of %d (%s)", self.rank, self.world_size, dist.get_backend())

    def stop(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()

    def broadcast(self, obj: T | None) -> T:
        """Rank 0's `obj` on every rank (any picklable object)."""
        if not self.active:
            return obj  # type: ignore[return-value]
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sync_parameters(self, params: Sequence[torch.Tensor]) -> None:
        """Start every rank from rank 0's weights (what DDP does when it wraps a model)."""
        if self.active:
            with torch.no_grad():
                for p in params:
                    dist.broadcast(p.data, src=0)

    def average_gradients(self, params: Sequence[torch.Tensor]) -> None:
        """Mean of the ranks' gradients, in place, with one all-reduce over a flat buffer."""
        if not self.active:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for p, g in zip(params, grads):
            p.grad = flat[offset:offset + g.numel()].view_as(g).clone()
            offset += g.numel()

    def mean(self, values: Sequence[float | None], device: Any) -> list[float | None]:
        """Mean over ranks of each value (None stays None: every rank computes the same components)."""
        if not self.active:
            return list(values)
        t = torch.tensor([0.0 if v is None else v for v in values], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return [None if v is None else float(x) / self.world_size for v, x in zip(values, t.tolist())]


SINGLE = Group()
