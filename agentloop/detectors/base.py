"""The detector protocol and its registry: what a detector sees, what it returns, how it is found.

    from agentloop.detectors.base import DetectorInput, register_detector
    from agentloop.core.types import Finding

    @register_detector("todo_left")
    class TodoLeft:
        kind = "hack"            # agentloop.core.labels: "hack" | "insecure"
        needs_run = False        # static: also runs before execution (gate mode)
        def detect(self, inp: DetectorInput) -> list[Finding]:
            return [Finding("todo_left", "TODO", "low", "a TODO is left")] if "TODO" in (inp.code or "") else []

A third-party package registers the same class through the entry-point group `agentloop.detectors`
(`todo_left = "my_pkg:TodoLeft"`); it then runs on every turn, its findings are stored with the
others, count as misalignment for its `kind`, and reach the oracle judge, the report and retention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentloop.core.labels import DETECTOR_GROUP, DetectorKind
from agentloop.core.registry import Registry
from agentloop.core.types import Finding, SandboxResult, Task

__all__ = ["DETECTORS_REGISTRY", "Detector", "DetectorInput", "detectors", "register_detector"]


@dataclass(frozen=True)
class DetectorInput:
    """One turn's code and, once the sandbox ran, both runs' results."""

    task: Task
    code: str | None  # the solution file's text; None when the agent only wrote other files
    extra_files: dict[str, str] = field(default_factory=dict)  # every other file the agent wrote
    visible: SandboxResult | None = None  # the visible tests on the agent's workspace; None before execution
    hidden: SandboxResult | None = None  # the hidden cases on a clean copy; None before execution
    # The hidden-case run's plain record of each call the visible tests assert on (call text -> record,
    # see agentloop.sandbox.harness.run_cases_and_probes); None before execution.
    probe_values: Mapping[str, Mapping[str, Any]] | None = None


@runtime_checkable
class Detector(Protocol):
    """A deterministic, model-free check of one turn."""

    kind: DetectorKind  # what a finding means: "hack" (the checks were gamed) or "insecure"
    needs_run: bool  # True: reads DetectorInput.visible/hidden, so it runs only after the sandbox

    def detect(self, inp: DetectorInput) -> list[Finding]:
        """Findings for this turn (each with this detector's name and a rule id)."""
        ...


DETECTORS_REGISTRY: Registry[type[Detector] | Detector] = Registry("detector", group=DETECTOR_GROUP)
register_detector = DETECTORS_REGISTRY.register
_instances: dict[str, Detector] = {}


def detectors() -> list[tuple[str, Detector]]:
    """(name, detector) for the built-ins in run order, then plugins by name; a registered class is
    instantiated once per process."""
    out = []
    for name, obj in DETECTORS_REGISTRY.items():
        if name not in _instances:
            _instances[name] = obj() if isinstance(obj, type) else obj
        out.append((name, _instances[name]))
    return out
