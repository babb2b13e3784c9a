"""`agentloop` console script: imports each command module (which registers on `app`) and runs it.

Heavy libraries (torch, vllm) are imported inside commands, so `agentloop --help` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from rich.console import Console
from rich.logging import RichHandler

from agentloop.cli.app import app
from agentloop.errors import AgentloopError

# One module per command (group); a module missing here is simply not registered yet.
COMMAND_MODULES = ("model", "db", "episodes", "retention", "run", "learner", "experiment", "report", "judge_eval", "view")

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"agentloop.cli.{_name}")
    except ModuleNotFoundError as exc:  # only tolerate the command module itself being absent
        if exc.name != f"agentloop.cli.{_name}":
            raise

err_console = Console(stderr=True)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("AGENTLOOP_LOG", "INFO"),
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=True)],
    )
    try:
        app()
    except AgentloopError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
