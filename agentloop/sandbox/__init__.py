"""Run untrusted agent code and its tests: bubblewrap where it works, rlimits only when asked for.

    from agentloop.sandbox import get_sandbox
    result = get_sandbox().run_tests({"solution.py": code, "test_sol.py": tests}, ["test_sol.py"])
    result.tests  # [TestOutcome(nodeid="test_sol.py::test_x", status="passed"), ...]
"""

from agentloop.sandbox._base import Limits, Sandbox
from agentloop.sandbox.bwrap import BwrapSandbox
from agentloop.sandbox.resolve import backend_label, get_sandbox, sandbox_for
from agentloop.sandbox.rlimit import RlimitSandbox

__all__ = ["BwrapSandbox", "Limits", "RlimitSandbox", "Sandbox", "backend_label", "get_sandbox", "sandbox_for"]
