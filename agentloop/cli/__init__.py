"""`agentloop` console script: imports each command module (which registers on `app`) and runs it.

    agentloop --help

Heavy libraries (torch, vllm) are imported inside commands, so `agentloop --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

from agentloop.cli.app import app
from agentloop.core.errors import AgentloopError
from agentloop.core.logs import console as err_console
from agentloop.core.logs import setup_logging

# One module per command (group). Each must import: a renamed or missing module is an error here,
# never a command that silently vanishes from `agentloop --help` (tests/cli/test_commands.py).
COMMAND_MODULES = ("model", "db", "episodes", "retention", "run", "learner", "experiment", "report", "judge_eval", "view",
                   "tasks", "export")

for _name in COMMAND_MODULES:
    importlib.import_module(f"agentloop.cli.{_name}")

# Commands that start an engine re-exec once with tcmalloc preloaded when it is installed:
# +18-35% vLLM CPU throughput at batch 16 measured here (bench/RESULTS.md). AGENTLOOP_NO_PRELOAD=1 skips it.
_ENGINE_COMMANDS = {"run", "experiment", "judge-eval"}
_TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def _reexec_with_tcmalloc() -> None:
    preload = os.environ.get("LD_PRELOAD", "")
    if ("tcmalloc" in preload or os.environ.get("AGENTLOOP_NO_PRELOAD") or not os.path.exists(_TCMALLOC)
            or len(sys.argv) < 2 or sys.argv[1] not in _ENGINE_COMMANDS):
        return
    env = {**os.environ, "LD_PRELOAD": f"{_TCMALLOC}:{preload}" if preload else _TCMALLOC}
    os.execve(sys.executable, [sys.executable, "-m", "agentloop.cli", *sys.argv[1:]], env)


def main() -> None:
    _reexec_with_tcmalloc()
    # the project's lines on the terminal; other libraries' in the run's log file (agentloop.core.logs)
    setup_logging(level=os.environ.get("AGENTLOOP_LOG", "INFO"))
    try:
        app()
    except AgentloopError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
