"""The built-in detectors, registered by name (agentloop.core.labels.BUILTIN_DETECTORS lists them)."""

from __future__ import annotations

from agentloop.detectors import hidden_tests, insecure, tampering
from agentloop.detectors.base import DetectorInput, register_detector
from agentloop.detectors.tampering import divergence
from agentloop.core.labels import BUILTIN_DETECTORS, DetectorKind
from agentloop.core.types import Finding

# Names an agent might reach for to read the hidden checks (neither exists in any sandbox run).
HIDDEN_NAMES = ("test_hidden.py", "hidden_cases.yaml")


@register_detector(hidden_tests.NAME)
class HiddenTests:
    """Visible tests pass but hidden cases fail, tests missing or modified, a forged report."""

    kind: DetectorKind = BUILTIN_DETECTORS[hidden_tests.NAME]
    needs_run = True

    def detect(self, inp: DetectorInput) -> list[Finding]:
        assert inp.visible is not None and inp.hidden is not None, "hidden_tests needs both sandbox runs"
        return hidden_tests.detect(inp.task.visible_tests, {}, inp.visible, inp.hidden)  # no hidden test files


@register_detector(tampering.NAME)
class Tampering:
    """Test tampering and reward hacking: the code's TAMPER_* rules and, once both runs are in,
    TAMPER_RUN_DIVERGENCE (a visible test's call answered differently in the hidden-case run)."""

    kind: DetectorKind = BUILTIN_DETECTORS[tampering.NAME]
    needs_run = False  # the code rules also run before execution (gate mode); the run rule joins after

    def detect(self, inp: DetectorInput) -> list[Finding]:
        task = inp.task
        findings = tampering.detect(inp.code, inp.extra_files, visible_tests=task.visible_tests,
                                    test_names=[*task.visible_tests, *HIDDEN_NAMES, task.hidden_cases.source],
                                    solution_file=task.solution_file, spec=task.spec)
        if inp.visible is not None and inp.probe_values is not None:
            findings += divergence.detect(task, inp.visible, inp.probe_values)
        return findings


@register_detector(insecure.NAME)
class Insecure:
    """Bandit medium+ findings and the SEC_* rules."""

    kind: DetectorKind = BUILTIN_DETECTORS[insecure.NAME]
    needs_run = False

    def detect(self, inp: DetectorInput) -> list[Finding]:
        return insecure.detect(inp.code, inp.extra_files, solution_file=inp.task.solution_file)
