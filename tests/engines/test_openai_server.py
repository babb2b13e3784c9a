"""The `openai` backend against a real vLLM OpenAI-compatible server started here on 127.0.0.1.

Measured on the 2-core CPU box, lock already free: the module takes ~85 s: server start ~23 s,
in-process engine ~10 s (shared with other tests in a full run), LoRA greedy generations via
the server ~12-17 s each (base ones ~2 s).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest

from _probes import GREEDY, LABELS, PROBE_PROMPTS
from agentloop.engines import Engine, EngineConfig, make_engine
from agentloop.engines.config import apply_cpu_env
from agentloop.errors import EngineError

pytestmark = [pytest.mark.model, pytest.mark.slow]
log = logging.getLogger(__name__)

START_TIMEOUT_S = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env() -> dict[str, str]:
    """The in-process engine's CPU env (read without changing ours) plus runtime LoRA loading."""
    with mock.patch.dict(os.environ):
        apply_cpu_env()
        env = dict(os.environ)
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    return env


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the whole group (API server + engine-core child), SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def server_url(embedded_model_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A vLLM server with the in-process engine's settings. `embedded_model_path` holds the
    session's model lock, so this never overlaps another session's model workload."""
    cfg = EngineConfig(model=embedded_model_path)
    port = _free_port()
    log_path: Path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", embedded_model_path, "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--enforce-eager", "--enable-prefix-caching",
        "--enable-lora", "--max-lora-rank", str(cfg.max_lora_rank), "--max-loras", str(cfg.max_loras),
        "--max-model-len", str(cfg.max_model_len), "--seed", str(cfg.seed),
        "--disable-uvicorn-access-log",
    ]
    url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(cmd, env=_server_env(), stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)  # own process group: teardown reaches its children
    t0 = time.monotonic()
    log.info("starting vLLM server on port %d (log: %s)", port, log_path)
    try:
        deadline = t0 + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not ready after {START_TIMEOUT_S:.0f}s:\n{_tail(log_path)}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(1)
        log.info("vLLM server ready at %s in %.1fs", url, time.monotonic() - t0)
        yield url
    finally:
        _stop(proc)


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

    server_engine.load_adapter(random_adapter, 1)  # same name again: load_inplace replaces it
    assert _texts(server_engine, adapter=1) == policy


def test_server_down_is_a_quick_clear_error(embedded_model_path: str) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
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
