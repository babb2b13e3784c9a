"""Start real vLLM OpenAI-compatible servers on 127.0.0.1 for the `openai` backend tests.

Each server gets the in-process engine's CPU settings, runtime LoRA loading, its own process
group (so stopping it reaches the engine-core child) and a log file whose tail goes into the
failure message. Callers hold the model lock (the `embedded_model_path` fixture does).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import httpx
import pytest

from agentloop.engines import EngineConfig
from agentloop.engines.config import apply_cpu_env

log = logging.getLogger(__name__)

START_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(cpus: str | None = None) -> dict[str, str]:
    """The in-process engine's CPU env (read without changing ours) plus runtime LoRA loading;
    `cpus` (e.g. "1") binds the server's OpenMP threads to those cores only."""
    with mock.patch.dict(os.environ):
        apply_cpu_env()
        env = dict(os.environ)
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    if cpus is not None:
        env["VLLM_CPU_OMP_THREADS_BIND"] = cpus
    return env


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class VLLMServer:
    """One `python -m vllm.entrypoints.openai.api_server` on a fixed port (a restart keeps its URL)."""

    def __init__(self, model_path: str, log_dir: Path, cpus: str | None = None, port: int | None = None) -> None:
        self.model_path = model_path
        self.cpus = cpus
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"server-{self.port}-{self.starts}.log"

    def start(self) -> VLLMServer:
        cfg = EngineConfig(model=self.model_path)
        self.starts += 1
        cmd = [
            sys.executable, "-m", "vllm.entrypoints.openai.api_server",
            "--model", self.model_path, "--host", "127.0.0.1", "--port", str(self.port),
            "--dtype", "float32", "--enforce-eager", "--enable-prefix-caching",
            "--enable-lora", "--max-lora-rank", str(cfg.max_lora_rank), "--max-loras", str(cfg.max_loras),
            "--max-model-len", str(cfg.max_model_len), "--seed", str(cfg.seed),
            "--disable-uvicorn-access-log",
        ]
        with self.log_path.open("wb") as log_file:
            self.proc = subprocess.Popen(cmd, env=server_env(self.cpus), stdout=log_file, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # own process group: stop reaches its children
        self._t0 = time.monotonic()
        log.info("starting vLLM server on port %d (log: %s)", self.port, self.log_path)
        return self

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> VLLMServer:
        """Until GET /models answers 200; pytest.fail with the log's tail if it exits or stalls."""
        assert self.proc is not None, "start() first"
        deadline = self._t0 + timeout_s
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not ready after {timeout_s:.0f}s:\n{_tail(self.log_path)}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        log.info("vLLM server ready at %s in %.1fs", self.url, time.monotonic() - self._t0)
        return self

    def models(self) -> set[str]:
        """The names the server serves now (base model and loaded LoRA adapters)."""
        return {m["id"] for m in httpx.get(f"{self.url}/models", timeout=10).json()["data"]}

    def stop(self, hard: bool = False) -> None:
        """SIGTERM the whole group (API server + engine-core child), SIGKILL if it lingers;
        `hard`: SIGKILL at once (a crash)."""
        if self.proc is None:
            return
        steps = ((signal.SIGKILL, 10),) if hard else ((signal.SIGTERM, 30), (signal.SIGKILL, 10))
        for sig, wait_s in steps:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None
