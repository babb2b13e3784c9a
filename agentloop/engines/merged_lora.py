"""LoRA hot-swap by merging: the policy decodes at base speed, the conscience on exact base weights.

    merged = MergedLora(model_path, load_weights=reload, packed={"qkv_proj": ["q_proj", "k_proj", "v_proj"]})
    merged.add("runs/adapters/v3", 3)      # a plain PEFT folder, as the learner publishes it
    merged.activate(3)                     # W = W0 + scale * B @ A for every targeted module
    merged.activate(None)                  # W0 again, bit for bit: the frozen copy
    merged.cache_salt                      # "base" or "v3": prefix-cache namespace of the weights in place

vLLM's CPU LoRA path is plain torch and halves decode speed (bench/lora_decode.py: 0.43-0.49x base),
so the vLLM engine can instead write base + delta into the model's own weights, as TRL's vLLM
weight sync does (vLLM's in-place `reload_weights` maps HF names onto its fused qkv/gate_up
layouts and re-packs the CPU GEMM kernels). Only the layers an adapter targets are reloaded,
each whole (a fused qkv_proj gets q, k and v, so nothing is left half-written); their base
tensors are read once from the model folder and kept in float32, so restoring them goes through
the same cast as the engine's first load and the frozen copy stays exact. KV-cache blocks computed under one set of weights must not
serve another: every request carries `cache_salt` (the weights' name), which vLLM mixes into its
prefix-cache hashes.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from agentloop.core.errors import EngineError

log = logging.getLogger(__name__)

WeightLoader = Callable[[list[tuple[str, torch.Tensor]]], object]
_PEFT_PREFIX = "base_model.model."


class Delta:
    """One module's low-rank update, scale * B @ A, kept factored (a full delta per version would
    cost a model's worth of memory for all-linear adapters)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, scale: float, transpose: bool) -> None:
        self.a, self.b, self.scale, self.transpose = a.float(), b.float(), scale, transpose

    def full(self) -> torch.Tensor:
        delta = (self.b @ self.a) * self.scale
        return delta.T if self.transpose else delta


def read_adapter(path: str | Path) -> dict[str, Delta]:
    """{HF weight name: its Delta} of a PEFT LoRA folder."""
    from safetensors.torch import load_file

    folder = Path(path)
    try:
        config = json.loads((folder / "adapter_config.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EngineError(f"{folder} is not a PEFT adapter folder: {exc}") from None
    unsupported = [k for k in ("use_dora", "modules_to_save", "rank_pattern", "alpha_pattern") if config.get(k)]
    if config.get("peft_type", "LORA") != "LORA" or unsupported:
        raise EngineError(f"{folder}: only plain LoRA adapters can be merged (has {unsupported or config['peft_type']}); "
                          "use lora_mode='requests'")
    rank = int(config["r"])
    scale = config["lora_alpha"] / (math.sqrt(rank) if config.get("use_rslora") else rank)
    tensors = load_file(str(folder / "adapter_model.safetensors"))
    deltas: dict[str, Delta] = {}
    for key, a in tensors.items():
        if ".lora_A." not in key:
            continue
        module = key.removeprefix(_PEFT_PREFIX).split(".lora_A.")[0]
        deltas[f"{module}.weight"] = Delta(a, tensors[key.replace(".lora_A.", ".lora_B.")], scale,
                                           bool(config.get("fan_in_fan_out")))
    if not deltas:
        raise EngineError(f"{folder}: no lora_A/lora_B tensors in adapter_model.safetensors")
    return deltas


def read_base(model_path: str | Path, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The named tensors of the model folder's safetensors, as float32."""
    from safetensors import safe_open

    wanted, found = set(names), {}
    for file in sorted(Path(model_path).glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for name in wanted & set(f.keys()):
                found[name] = f.get_tensor(name).float()
    missing = wanted - set(found)
    if missing:
        raise EngineError(f"{model_path}: the adapter targets weights the model folder lacks: {sorted(missing)[:3]}")
    return found


class MergedLora:
    """Which weights are in the engine (base or one adapter merged in), and the swap between them."""

    def __init__(self, model_path: str | Path, load_weights: WeightLoader,
                 packed: dict[str, list[str]] | None = None) -> None:
        """`packed`: the engine's fused layers and the checkpoint modules each holds (vLLM's
        `packed_modules_mapping`), so a swap reloads every part of a fused layer it touches."""
        self.model_path = model_path
        self._load = load_weights
        self._siblings = {leaf: parts for parts in (packed or {}).values() for leaf in parts}
        self._base: dict[str, torch.Tensor] = {}
        self._deltas: dict[int, dict[str, Delta]] = {}
        self.active: int | None = None  # the adapter merged in now; None = base weights

    @property
    def versions(self) -> list[int]:
        return sorted(self._deltas)

    @property
    def cache_salt(self) -> str:
        return "base" if self.active is None else f"v{self.active}"

    def add(self, path: str | Path, version: int) -> None:
        """Read an adapter (and the base tensors it targets); merged on first use."""
        deltas = read_adapter(path)
        new = [n for n in self._layer_weights(deltas) if n not in self._base]
        self._base.update(read_base(self.model_path, new))
        self._deltas[version] = deltas
        if self.active == version:  # a re-published version: write its new weights now
            self.active = None
            self.activate(version)

    def _layer_weights(self, names: Iterable[str]) -> list[str]:
        """`names` plus the other checkpoint weights of the fused layers they belong to."""
        out = set()
        for name in names:
            module, leaf, kind = name.rsplit(".", 2)
            out.update(f"{module}.{part}.{kind}" for part in self._siblings.get(leaf, [leaf]))
        return sorted(out)

    def activate(self, version: int | None) -> None:
        """Put base (None) or base + the adapter's delta into the engine's weights."""
        if version == self.active:
            return
        if version is not None and version not in self._deltas:
            raise EngineError(f"adapter v{version} was never loaded (loaded: {self.versions})")
        now = self._deltas.get(self.active, {}) if self.active is not None else {}
        target = self._deltas[version] if version is not None else {}
        names = self._layer_weights([*now, *target])
        t0 = time.perf_counter()
        self._load([(n, self._base[n] + target[n].full() if n in target else self._base[n]) for n in names])
        log.debug("weights %s -> %s: %d tensors in %.3fs", self.cache_salt, version, len(names),
                  time.perf_counter() - t0)
        self.active = version
