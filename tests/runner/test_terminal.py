"""The flagship's CLI under a real (pseudo-)terminal, as a new user runs it: the terminal shows the
project's own lines (progress, summary, the log file's name) and no other library's warnings or
logs; those are in the run's agentloop.log.

A tiny variant of scenarios/codehack_multiturn.yaml (1 episode, 1 turn, 32 tokens, learner off)
through the real `agentloop run` with the real vLLM engine on the embedded model; the subprocess
starts while this session holds the model lock (the `embedded_model_path` fixture).
"""

from __future__ import annotations

import re

import pytest

from _pty import agentloop_in_pty, leaked
from _tiny_scenario import tiny_copy

pytestmark = pytest.mark.model
COLS = 100


def test_flagship_terminal_shows_only_the_project(embedded_model_path, tmp_path):
    scenario = tiny_copy("codehack_multiturn.yaml", tmp_path, "codehack_tiny", schedule="off")
    code, terminal = agentloop_in_pty(
        ["run", scenario.name, "--db", "sqlite:///a.db", "--workdir", "runs"],
        cwd=str(tmp_path), cols=COLS)
    assert code == 0, terminal[-4000:]

    log_file = tmp_path / "runs" / "run-1" / "agentloop.log"
    assert log_file.is_file(), terminal
    logged = log_file.read_text()
    lines = [line for line in terminal.splitlines() if line.strip()]
    assert not leaked(terminal), "third-party output reached the terminal:\n" + "\n".join(leaked(terminal))

    # the project's own lines are there, and none is wider than the terminal
    assert "episodes 1/1" in terminal and "run 1" in terminal and "hack rate" in terminal
    assert "runs/run-1/agentloop.log" in terminal  # the summary names the log file
    assert all(len(line) <= COLS for line in lines), max(lines, key=len)
    # what was kept off the terminal is in the log file
    # a vLLM logger warning, in vLLM's own format or through the root logger's (which one depends on
    # the order vLLM's modules configure logging in; both were seen on this machine)
    assert re.search(r"WARNING \d\d-\d\d \d\d:\d\d:\d\d \[|WARNING vllm\.", logged), logged[:3000]
    warnings = [w for w in ("set_num_threads", "reduce_op", "NUMA binding") if w in logged]  # vLLM/torch, fd 1 or 2
    assert warnings, logged[:3000]
    for known in (*warnings, "checkpoint shards"):  # ... and a progress bar (fd 2)
        assert known in logged, (known, logged[:3000])
        assert known not in terminal
    assert "INFO agentloop.engines.vllm: vLLM engine ready" in logged  # the project's records too, timestamped
