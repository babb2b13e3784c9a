"""The `openai` backend against a real vLLM OpenAI-compatible server started here on 127.0.0.1.

Measured on the 2-core CPU box, lock already free: the module takes ~85 s: server start ~23 s,
in-process engine ~10 s (shared with other tests in a full run), LoRA greedy generations via
the server ~12-17 s each (base ones ~2 s).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import httpx
import pytest

from _probes import GREEDY, LABELS, PROBE_PROMPTS
from _vllm_server import VLLMServer, free_port
from agentloop.engines import Engine, make_engine
from agentloop.core.errors import EngineError

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def server_url(embedded_model_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A vLLM server with the in-process engine's settings. `embedded_model_path` holds the
    session's model lock, so this never overlaps another session's model workload."""
    server = VLLMServer(embedded_model_path, tmp_path_factory.mktemp("vllm-server")).start()
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server_engine(server_url: str, embedded_model_path: str) -> Iterator[Engine]:
    engine = make_engine("openai", embedded_model_path, base_urls=[server_url])
    yield engine
    engine.close()


def _texts(engine: Engine, adapter: int | None = None) -> list[str]:
    return [g.text for g in engine.generate(PROBE_PROMPTS, GREEDY, adapter=adapter)]


def test_server_matches_in_process_engine(server_engine: Engine, vllm_engine: Engine) -> None:
    from conscience.verdict import label_probs

    out = server_engine.generate(PROBE_PROMPTS, GREEDY)
    assert [g.text for g in out] == vllm_engine.base_reference["text"]
    assert [g.prompt_tokens for g in out] == [len(vllm_engine.encoder.encode(p)) for p in PROBE_PROMPTS]
    assert all(g.completion_tokens > 0 for g in out)

    scores = server_engine.score_choices(PROBE_PROMPTS, LABELS)
    for srow, vrow in zip(scores, vllm_engine.base_reference["scores"], strict=True):
        assert sorted(range(len(LABELS)), key=srow.__getitem__) == sorted(range(len(LABELS)), key=vrow.__getitem__)
        assert srow == pytest.approx(vrow, abs=1e-3)
        assert sum(math.exp(x) for x in srow) <= 1 + 1e-6  # disjoint continuations: raw mass at most 1
        assert sum(label_probs(srow).values()) == pytest.approx(1.0)


def test_runtime_adapter_changes_policy_only(server_engine: Engine, server_url: str, random_adapter: str) -> None:
    base = _texts(server_engine)
    server_engine.load_adapter(random_adapter, 1)
    assert server_engine.adapter_versions == [1]
    assert "v1" in {m["id"] for m in httpx.get(f"{server_url}/models").json()["data"]}
    policy = _texts(server_engine, adapter=1)
    assert policy != base
    assert _texts(server_engine) == base  # the frozen copy is untouched by the adapter
    mixed = server_engine.generate(PROBE_PROMPTS, GREEDY, adapter=[1, None])  # one adapter per prompt
    assert [g.text for g in mixed] == [policy[0], base[1]]

    server_engine.load_adapter(random_adapter, 1)  # same name again: load_inplace replaces it
    assert _texts(server_engine, adapter=1) == policy


def test_server_down_is_a_quick_clear_error(embedded_model_path: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(EngineError, match="no OpenAI-compatible server answers"):
        make_engine("openai", embedded_model_path, base_urls=[dead], retries=1)
    # served_model given: no discovery at start, so the first request meets the dead server
    engine = make_engine("openai", embedded_model_path, base_urls=[dead], served_model="m", retries=1)
    try:
        with pytest.raises(EngineError, match=r"unreachable .* after 1 retries: ConnectError"):
            engine.generate(PROBE_PROMPTS[:1], GREEDY)
    finally:
        engine.close()
    assert time.monotonic() - t0 < 10
