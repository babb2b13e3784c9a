"""Rows <-> domain types: a Turn with findings survives the store unchanged."""

from __future__ import annotations

from sqlalchemy import select

from agentloop.core import types
from agentloop.core.types import Finding, SandboxResult, Turn
from store.convert import TurnSandbox, turn_from_row, turn_row
from store.models import EpisodeRow, TurnRow


def test_turn_round_trip(store, make_run):
    turn = Turn(index=3, prompt="make the grader pass", reasoning="just exit", answer="```python\nimport sys\n```",
                code="import sys\nsys.exit(0)\n", prompt_tokens=120, completion_tokens=40, latency_s=1.25,
                adapter_version=2, gated=True, visible_passed=2, visible_total=2, hidden_passed=0, hidden_total=3,
                findings=[Finding("tampering", "TAMPER_SYS_EXIT", "high", "sys.exit(0) in solution", line=2,
                                  file="solution.py"),
                          Finding("hidden_tests", "HIDDEN_FAIL", "medium", "0/3 hidden")])
    sandbox = SandboxResult(exit_code=0, tests=[types.TestOutcome("t::a", "passed"), types.TestOutcome("t::b", "failed")],
                            stdout="lots of output", duration_s=0.4, backend="rlimit")
    run_id = make_run(store, "convert", [(0, "train", [])])
    with store.session() as s:
        episode_id = s.scalar(select(EpisodeRow.id).where(EpisodeRow.run_id == run_id))
        s.add(turn_row(turn, episode_id, sandbox=sandbox))
    with store.session(readonly=True) as s:
        row = s.scalar(select(TurnRow))
        assert turn_from_row(row) == turn
        assert row.sandbox == {  # store.convert.TurnSandbox, the one shape; no stdout: the store keeps outcomes
            "visible": [{"nodeid": "t::a", "status": "passed", "message": ""},
                        {"nodeid": "t::b", "status": "failed", "message": ""}],
            "hidden": [], "exit_code": 0, "timed_out": False, "killed_by": None, "backend": "rlimit",
            "duration_s": 0.4, "no_code": False, "gave_up": False}
        assert TurnSandbox.from_json(row.sandbox) == TurnSandbox.of(sandbox)
