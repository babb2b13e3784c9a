"""Any OpenAI-compatible server (a `vllm serve` fleet for scale).

Generation goes through `/v1/completions` with token-id prompts built by the same
`ChatEncoder` as the in-process backends (so all three see identical inputs). Choice
scoring uses vLLM's `allowed_token_ids` extension (one 1-token request per choice token,
raw log-prob of the forced token), so it needs a vLLM server. Adapters are published with
`POST /v1/load_lora_adapter` (the server must run with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True
and `--enable-lora`); a policy request names the adapter as its model.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from agentloop.engines.base import SamplingArg, per_prompt
from agentloop.engines.chat import load_encoder
from agentloop.engines.config import EngineConfig
from agentloop.errors import EngineError
from agentloop.types import Conversation, Generation

log = logging.getLogger(__name__)


class OpenAIEngine:
    name = "openai"

    def __init__(self, config: EngineConfig, max_concurrency: int = 16) -> None:
        import httpx

        if not config.base_urls:
            raise EngineError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.config = config
        self.base_url = config.base_urls[0].rstrip("/")
        key = os.environ.get(config.api_key_env, "EMPTY")
        self.client = httpx.Client(timeout=config.timeout_s, headers={"Authorization": f"Bearer {key}"})
        self.encoder = load_encoder(config.model)
        self.served_model = config.served_model or self._discover_model()
        self._adapters: dict[int, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max_concurrency)

    # -- HTTP with retries ---------------------------------------------------------------
    def _post(self, path: str, payload: dict) -> dict:
        import httpx

        delay = 0.5
        for attempt in range(self.config.retries + 1):
            try:
                resp = self.client.post(f"{self.base_url}{path}", json=payload)
                if resp.status_code < 500:
                    if resp.status_code >= 400:
                        raise EngineError(f"{self.base_url}{path} answered {resp.status_code}: {resp.text[:300]}")
                    if "json" not in resp.headers.get("content-type", ""):
                        return {"text": resp.text}  # vLLM's /v1/load_lora_adapter answers plain text
                    return resp.json()
                err = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except httpx.TransportError as exc:
                err = f"{type(exc).__name__}: {exc}"
            if attempt < self.config.retries:
                log.warning("%s%s failed (%s); retry %d in %.1fs", self.base_url, path, err, attempt + 1, delay)
                time.sleep(delay)
                delay *= 2
        raise EngineError(f"server {self.base_url} is unreachable or failing after {self.config.retries} retries: {err}")

    def _discover_model(self) -> str:
        import httpx

        try:
            resp = self.client.get(f"{self.base_url}/models")
            resp.raise_for_status()
            return resp.json()["data"][0]["id"]
        except (httpx.HTTPError, KeyError, IndexError) as exc:
            raise EngineError(f"no OpenAI-compatible server answers at {self.base_url} ({exc}); start one or fix --base-url") from exc

    def _model_for(self, adapter: int | None) -> str:
        if adapter is None:
            return self.served_model
        if adapter not in self._adapters:
            raise EngineError(f"adapter v{adapter} was never loaded (loaded: {self.adapter_versions})")
        return self._adapters[adapter]

    # -- protocol -------------------------------------------------------------------------
    def generate(self, prompts: list[Conversation], sampling: SamplingArg, adapter: int | None = None) -> list[Generation]:
        model = self._model_for(adapter)
        ids = [self.encoder.encode(p) for p in prompts]
        samplings = per_prompt(sampling, len(prompts))

        def one(i: int) -> dict:
            s = samplings[i]
            payload = {"model": model, "prompt": ids[i], "max_tokens": s.max_tokens,
                       "temperature": s.temperature, "top_p": s.top_p}
            if s.seed is not None:
                payload["seed"] = s.seed
            if s.stop:
                payload["stop"] = list(s.stop)
            return self._post("/completions", payload)

        t0 = time.perf_counter()
        outs = list(self.pool.map(one, range(len(prompts))))
        latency = time.perf_counter() - t0
        return [
            Generation(text=o["choices"][0]["text"], prompt_tokens=len(x),
                       completion_tokens=o.get("usage", {}).get("completion_tokens", 0), latency_s=latency)
            for o, x in zip(outs, ids)
        ]

    def score_choices(self, prompts: list[Conversation], choices: list[str], adapter: int | None = None) -> list[list[float]]:
        model = self._model_for(adapter)
        reqs: list[tuple[int, int, list[int], int]] = []
        for i, conv in enumerate(prompts):
            base = self.encoder.encode(conv)
            for j, choice in enumerate(choices):
                cids = self.encoder.encode_choice(choice)
                reqs.extend((i, j, base + cids[:t], tgt) for t, tgt in enumerate(cids))

        def one(r: tuple[int, int, list[int], int]) -> float:
            out = self._post("/completions", {"model": model, "prompt": r[2], "max_tokens": 1, "temperature": 0.0,
                                               "logprobs": 1, "allowed_token_ids": [r[3]]})
            return float(out["choices"][0]["logprobs"]["token_logprobs"][0])

        scores = [[0.0] * len(choices) for _ in prompts]
        for r, lp in zip(reqs, self.pool.map(one, reqs)):
            scores[r[0]][r[1]] += lp
        return scores

    def load_adapter(self, path: str, version: int) -> None:
        name = f"v{version}"
        self._post("/load_lora_adapter", {"lora_name": name, "lora_path": str(path), "load_inplace": True})
        self._adapters[version] = name

    @property
    def adapter_versions(self) -> list[int]:
        return sorted(self._adapters)

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.client.close()
