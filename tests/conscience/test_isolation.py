"""The dependency rule: `conscience` imports only agentloop's leaf modules (agentloop.core), and no model library."""

from __future__ import annotations

import subprocess
import sys

LEAVES = {"agentloop", "agentloop.core", "agentloop.core.types", "agentloop.core.errors", "agentloop.core.metrics",
          "agentloop.core.paths", "agentloop.core.registry"}


def test_conscience_imports_only_leaf_modules():
    code = (
        "import sys, conscience, conscience.judge_eval\n"
        "print(sorted(m for m in sys.modules if m.startswith('agentloop')))\n"
        "print(sorted(m for m in ('torch', 'transformers', 'vllm', 'peft', 'trl') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert set(eval(out[0])) <= LEAVES
    assert eval(out[1]) == []
