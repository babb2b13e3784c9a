"""`agentloop experiment` under a real (pseudo-)terminal: the project's lines (status, the log file's
name, the wall time, the report's tables) and no other library's output; vLLM's start-up, the
learner round's datasets/transformers output and warnings land in the experiment's agentloop.log.

scenarios/smoke.yaml at its smallest (1 episode of 1 turn, 32 tokens, a 1-step round), arm off,
1 seed, 1 epoch, through the real CLI with the real vLLM engine and learner round.
"""

from __future__ import annotations

import pytest

from _pty import agentloop_in_pty, leaked
from _tiny_scenario import tiny_copy

pytestmark = [pytest.mark.model, pytest.mark.slow]
COLS = 120


def test_experiment_terminal_shows_only_the_project(embedded_model_path, tmp_path):
    scenario = tiny_copy("smoke.yaml", tmp_path, "smoke_tiny", steps=1, max_length=256, task_data={"n": 4})
    code, terminal = agentloop_in_pty(
        ["experiment", scenario.name, "--epochs", "1", "--arms", "off", "--seeds", "1", "--db", "sqlite:///a.db",
         "--workdir", "runs"], cwd=str(tmp_path), cols=COLS)
    assert code == 0, terminal[-4000:]

    logs = list((tmp_path / "runs").glob("experiment-smoke_tiny-*/agentloop.log"))
    assert len(logs) == 1, terminal[-4000:]
    assert f"runs/{logs[0].parent.name}/agentloop.log" in terminal  # the terminal names the log file
    assert not leaked(terminal), "third-party output reached the terminal:\n" + "\n".join(leaked(terminal))
    assert "done in" in terminal and "report:" in terminal
    logged = logs[0].read_text()
    assert "INFO agentloop.engines.vllm: vLLM engine ready" in logged  # the project's records, timestamped
    assert "subprocess.learner_round" in logged  # the round's child process output
    assert "checkpoint shards" not in terminal and "Creating json from Arrow" not in terminal
