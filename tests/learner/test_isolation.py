"""The dependency rule for `learner`: it uses `store` and `conscience` data, and of `agentloop` only
the leaf modules in agentloop.core (types, errors, dtypes, paths, labels, registry, metrics) and its own
settings (agentloop.config.learner_config, LearnerConfig), never the scenario, the runner or the CLI."""

from __future__ import annotations

import subprocess
import sys

LEAVES = {"agentloop", "agentloop.core", "agentloop.core.types", "agentloop.core.errors", "agentloop.core.dtypes",
          "agentloop.core.paths", "agentloop.core.labels", "agentloop.core.registry", "agentloop.core.metrics",
          "agentloop.config", "agentloop.config.learner_config"}


def test_learner_imports_only_agentloop_leaf_modules():
    code = ("import sys, learner.round, learner.scheduler, learner.pairs, learner.publish\n"
            "print(sorted(m for m in sys.modules if m.startswith('agentloop')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(eval(out)) <= LEAVES
