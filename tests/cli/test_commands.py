"""The CLI registers every command module it ships, and a missing one is an error, not a vanished command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import agentloop.cli as cli

NOT_COMMANDS = {"__init__", "__main__", "app"}


def test_every_command_module_is_registered():
    shipped = {p.stem for p in Path(cli.__file__).parent.glob("*.py")} - NOT_COMMANDS
    assert shipped == set(cli.COMMAND_MODULES)


def test_a_missing_command_module_is_an_error():
    code = ("import sys, importlib.abc\n"
            "class Hide(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'agentloop.cli.export':\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Hide())\n"
            "import agentloop.cli\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "agentloop.cli.export" in result.stderr


def test_experiment_help_lists_every_arm_with_its_sentence():
    from typer.testing import CliRunner

    from agentloop.arms import ARMS
    from agentloop.cli import app

    result = CliRunner().invoke(app, ["experiment", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for name in ("off", "self", "oracle", "gate", "external", "always", "random", "distill", "kl"):
        assert f"{name}: {' '.join(ARMS.get(name).meaning.split())}" in text, name
