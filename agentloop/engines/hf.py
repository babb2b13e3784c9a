"""transformers + PEFT in process: the fallback where vLLM is absent, and the reference that
tests compare vLLM against. The frozen copy is `model.disable_adapter()`."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from agentloop.engines.base import AdapterArg, SamplingArg, generate_per_adapter, per_prompt
from agentloop.engines.chat import load_encoder
from agentloop.engines.config import EngineConfig
from agentloop.core.errors import EngineError
from agentloop.core.types import Conversation, Generation

log = logging.getLogger(__name__)


class HFEngine:
    name = "hf"

    def __init__(self, config: EngineConfig, batch_size: int = 8) -> None:
        from transformers import AutoModelForCausalLM

        from agentloop.core.dtypes import torch_dtype

        self.config = config
        self.device = config.resolved_device()
        self.dtype = torch_dtype(config.dtype, self.device)
        t0 = time.perf_counter()
        self.model = AutoModelForCausalLM.from_pretrained(config.model, dtype=self.dtype).to(self.device).eval()
        self.start_s = time.perf_counter() - t0
        self.encoder = load_encoder(config.model)
        self.batch_size = batch_size
        self._adapters: dict[int, str] = {}
        pad = self.encoder.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.encoder.eos_token_id

    def _adapter_ctx(self, adapter: int | None):
        """Select the adapter for a call; None = the frozen copy (adapters disabled)."""
        if not self._adapters:
            if adapter is not None:
                raise EngineError(f"adapter v{adapter} was never loaded")
            return contextlib.nullcontext()
        if adapter is None:
            return self.model.disable_adapter()
        if adapter not in self._adapters:
            raise EngineError(f"adapter v{adapter} was never loaded (loaded: {self.adapter_versions})")
        self.model.set_adapter(f"v{adapter}")
        return contextlib.nullcontext()

    def _left_pad(self, seqs: list[list[int]]):
        import torch

        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, s in enumerate(seqs):
            ids[row, width - len(s):] = torch.tensor(s)
            mask[row, width - len(s):] = 1
        return ids.to(self.device), mask.to(self.device)

    def generate(self, prompts: list[Conversation], sampling: SamplingArg, adapter: AdapterArg = None) -> list[Generation]:
        import torch

        if not (adapter is None or isinstance(adapter, int)):  # PEFT serves one active adapter at a time
            return generate_per_adapter(self.generate, prompts, sampling, adapter)

        t0 = time.perf_counter()
        encoded = [self.encoder.encode(p) for p in prompts]
        samplings = per_prompt(sampling, len(prompts))
        results: list[tuple[str, int]] = []
        with torch.no_grad(), self._adapter_ctx(adapter):
            for start in range(0, len(encoded), self.batch_size):
                chunk = encoded[start:start + self.batch_size]
                ids, mask = self._left_pad(chunk)
                # HF samples a batch with one generator and one setting: the chunk's first prompt's.
                sampling = samplings[start]
                if sampling.seed is not None:
                    torch.manual_seed(sampling.seed)
                greedy = sampling.temperature == 0.0
                out = self.model.generate(
                    input_ids=ids, attention_mask=mask, max_new_tokens=sampling.max_tokens,
                    do_sample=not greedy, temperature=None if greedy else sampling.temperature,
                    top_p=None if greedy else sampling.top_p, top_k=None,
                    pad_token_id=self.pad_id, eos_token_id=self.encoder.eos_token_id,
                )
                for row in out[:, ids.shape[1]:].tolist():
                    toks = _until_eos(row, self.encoder.eos_token_id)
                    text = self.encoder.decode(toks)
                    for stop in sampling.stop:  # HF has no token-exact stop strings; cut the text
                        if stop in text:
                            text = text[: text.index(stop)]
                    results.append((text, len(toks)))
        latency = time.perf_counter() - t0
        return [Generation(text=t, prompt_tokens=len(e), completion_tokens=n, latency_s=latency)
                for (t, n), e in zip(results, encoded)]

    def score_choices(self, prompts: list[Conversation], choices: list[str], adapter: int | None = None) -> list[list[float]]:
        import torch

        rows: list[tuple[int, int, list[int], int]] = []  # (i, j, full ids, n choice tokens)
        for i, conv in enumerate(prompts):
            base = self.encoder.encode(conv)
            for j, choice in enumerate(choices):
                cids = self.encoder.encode_choice(choice)
                rows.append((i, j, base + cids, len(cids)))
        scores = [[0.0] * len(choices) for _ in prompts]
        with torch.no_grad(), self._adapter_ctx(adapter):
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start:start + self.batch_size]
                # Right padding keeps natural position ids, so scores equal unpadded forwards.
                width = max(len(r[2]) for r in chunk)
                ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for row, r in enumerate(chunk):
                    ids[row, :len(r[2])] = torch.tensor(r[2])
                    mask[row, :len(r[2])] = 1
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits.float()
                logp = torch.log_softmax(logits, dim=-1).cpu()
                for row, (i, j, full, n) in enumerate(chunk):
                    length = len(full)
                    # logits at position t predict token t+1
                    pos = torch.arange(length - n - 1, length - 1)
                    tgt = torch.tensor(full[length - n:])
                    scores[i][j] = float(logp[row, pos, tgt].sum())
        return scores

    def load_adapter(self, path: str, version: int) -> None:
        from peft import PeftModel

        if not (Path(path) / "adapter_config.json").is_file():
            raise EngineError(f"{path} is not a PEFT adapter folder (no adapter_config.json)")
        name = f"v{version}"
        if not self._adapters:
            self.model = PeftModel.from_pretrained(self.model, path, adapter_name=name).eval()
        else:
            self.model.load_adapter(path, adapter_name=name)
        self._adapters[version] = path

    @property
    def adapter_versions(self) -> list[int]:
        return sorted(self._adapters)

    def close(self) -> None:
        import gc

        del self.model
        gc.collect()


def _until_eos(tokens: list[int], eos: int | None) -> list[int]:
    return tokens[: tokens.index(eos)] if eos is not None and eos in tokens else tokens
