"""Run untrusted agent code and its tests: bubblewrap where it works, rlimits as a warned fallback.

    from agentloop.sandbox import get_sandbox
    result = get_sandbox().run_tests({"solution.py": code, "test_sol.py": tests}, ["test_sol.py"])
    result.tests  # [TestOutcome(nodeid="test_sol.py::test_x", status="passed"), ...]
"""

from agentloop.sandbox._base import Limits, Sandbox
from agentloop.sandbox.bwrap import BwrapSandbox
from agentloop.sandbox.resolve import get_sandbox
from agentloop.sandbox.rlimit import RlimitSandbox

__all__ = ["BwrapSandbox", "Limits", "RlimitSandbox", "Sandbox", "get_sandbox"]
