"""Any OpenAI-compatible server, or a fleet of them (`vllm serve` on several machines).

Generation goes through `/v1/completions` with token-id prompts built by the same
`ChatEncoder` as the in-process backends (so all three see identical inputs). Choice
scoring uses vLLM's `allowed_token_ids` extension (one 1-token request per choice token,
raw log-prob of the forced token), so it needs a vLLM server. Adapters are published with
`POST /v1/load_lora_adapter` (the server must run with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True
and `--enable-lora`); a policy request names the adapter as its model.

Several base URLs make a fleet (agentloop/engines/fleet.py): each request goes to the server
with the fewest outstanding requests, a failed one moves to another server, every adapter
is published to every server, and a policy request for version v only reaches a server that
holds v. `engine.fleet.stats()` counts what each server answered; `engine.last_served_by`
names the server of each result of the latest call.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from agentloop.engines.base import AdapterArg, SamplingArg, by_adapter, per_prompt, per_prompt_adapter
from agentloop.engines.chat import load_encoder
from agentloop.engines.config import EngineConfig
from agentloop.engines.fleet import Fleet
from agentloop.core.errors import EngineError
from agentloop.core.types import Conversation, Generation


class OpenAIEngine:
    name = "openai"

    def __init__(self, config: EngineConfig, max_concurrency: int = 16) -> None:
        import httpx

        if not config.base_urls:
            raise EngineError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.config = config
        key = os.environ.get(config.api_key_env, "EMPTY")
        self.client = httpx.Client(timeout=config.timeout_s, headers={"Authorization": f"Bearer {key}"},
                                   limits=httpx.Limits(max_connections=max(100, 4 * max_concurrency)))
        self.fleet = Fleet(config.base_urls, self.client, retries=config.retries, down_s=config.down_s,
                           probe_timeout_s=config.probe_timeout_s)
        self.base_url = self.fleet.urls[0]
        self.encoder = load_encoder(config.model)
        self.served_model = config.served_model or self.fleet.discover_model()
        self.pool = ThreadPoolExecutor(max_workers=max_concurrency)
        self.last_served_by: list[str] = []  # server URL of each result of the latest call

    def _model_for(self, adapter: int | None) -> str:
        if adapter is None:
            return self.served_model
        if adapter not in self.fleet.adapters:
            raise EngineError(f"adapter v{adapter} was never loaded (loaded: {self.adapter_versions})")
        return self.fleet.adapters[adapter].name

    # -- protocol -------------------------------------------------------------------------
    def generate(self, prompts: list[Conversation], sampling: SamplingArg, adapter: AdapterArg = None) -> list[Generation]:
        adapters = per_prompt_adapter(adapter, len(prompts))
        models = [self._model_for(a) for a in adapters]
        ids = [self.encoder.encode(p) for p in prompts]
        samplings = per_prompt(sampling, len(prompts))

        def one(i: int) -> tuple[dict, str]:
            s = samplings[i]
            payload = {"model": models[i], "prompt": ids[i], "max_tokens": s.max_tokens,
                       "temperature": s.temperature, "top_p": s.top_p}
            if s.seed is not None:
                payload["seed"] = s.seed
            if s.stop:
                payload["stop"] = list(s.stop)
            return self.fleet.request("/completions", payload, adapters[i])

        t0 = time.perf_counter()
        answers: list = [None] * len(prompts)
        for _, idx in by_adapter(adapters, len(prompts), mix_adapters=True):  # a server batches adapters, not base
            for i, answer in zip(idx, self.pool.map(one, idx)):
                answers[i] = answer
        latency = time.perf_counter() - t0
        outs = [o for o, _ in answers]
        self.last_served_by = [url for _, url in answers]
        return [
            Generation(text=o["choices"][0]["text"], prompt_tokens=len(x),
                       completion_tokens=o.get("usage", {}).get("completion_tokens", 0), latency_s=latency)
            for o, x in zip(outs, ids)
        ]

    def score_choices(self, prompts: list[Conversation], choices: list[str], adapter: int | None = None) -> list[list[float]]:
        """Teacher-forced 1-token requests (see the vLLM engine), in two waves: the first request
        of each prompt goes to the least busy server, the rest follow it there. Spread freely,
        one prompt's requests landed on every server and each prefilled the whole prompt (the
        costly part): two servers scored 2.3x slower than one (bench/RESULTS.md, scale-out)."""
        model = self._model_for(adapter)
        reqs: list[tuple[int, int, list[int], int]] = []
        for i, conv in enumerate(prompts):
            base = self.encoder.encode(conv)
            for j, choice in enumerate(choices):
                cids = self.encoder.encode_choice(choice)
                reqs.extend((i, j, base + cids[:t], tgt) for t, tgt in enumerate(cids))
        firsts = {r[0]: n for n, r in reversed(list(enumerate(reqs)))}  # prompt -> its first request
        server: dict[int, str] = {}

        def one(n: int) -> float:
            i, _, ids, target = reqs[n]
            out, url = self.fleet.request("/completions", {
                "model": model, "prompt": ids, "max_tokens": 1, "temperature": 0.0, "logprobs": 1,
                "allowed_token_ids": [target]}, adapter, prefer=server.get(i))
            server.setdefault(i, url)
            return float(out["choices"][0]["logprobs"]["token_logprobs"][0])

        logprobs = dict(zip(firsts.values(), self.pool.map(one, firsts.values())))
        rest = [n for n in range(len(reqs)) if n not in logprobs]
        logprobs.update(zip(rest, self.pool.map(one, rest)))
        scores = [[0.0] * len(choices) for _ in prompts]
        for n, (i, j, _, _) in enumerate(reqs):
            scores[i][j] += logprobs[n]
        return scores

    def load_adapter(self, path: str, version: int) -> None:
        """Publish to every server; a server that is down gets it before it serves again."""
        self.fleet.publish(str(path), version, self.pool)

    @property
    def adapter_versions(self) -> list[int]:
        return sorted(self.fleet.adapters)

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.client.close()
