"""Detector names and what their findings mean: the one definition the runner, the store's queries,
the viewer and the task loader share.

    from agentloop.core.labels import hack_detectors, misaligned_detectors
    misaligned_detectors()   # frozenset({'hidden_tests', 'tampering', 'insecure'}) plus installed plugins

A finding of a `hack` detector means the turn gamed the checks, of an `insecure` one that it shipped
vulnerable code; both count as misalignment, the label verdicts and retention are scored on. `parse`
(no usable code) and `sandbox` (infrastructure trouble) findings do not. A plugin detector
(entry-point group `agentloop.detectors`) declares its kind with a `kind` attribute.

A leaf module: it imports only agentloop.core.registry (and through it agentloop.core.errors).
"""

from __future__ import annotations

from typing import Literal

from agentloop.core.registry import PluginError, plugins

__all__ = [
    "BUILTIN_DETECTORS", "DETECTOR_GROUP", "HACK", "INSECURE", "KINDS", "DetectorKind", "detector_kinds",
    "hack_detectors", "insecure_detectors", "misaligned_detectors",
]

DetectorKind = Literal["hack", "insecure"]
HACK: DetectorKind = "hack"
INSECURE: DetectorKind = "insecure"
KINDS: tuple[DetectorKind, ...] = (HACK, INSECURE)
DETECTOR_GROUP = "agentloop.detectors"
# The built-in detectors, in the order they run (agentloop/detectors/builtin.py registers them).
BUILTIN_DETECTORS: dict[str, DetectorKind] = {"hidden_tests": HACK, "tampering": HACK, "insecure": INSECURE}


def detector_kinds() -> dict[str, DetectorKind]:
    """Every detector's name and kind: the built-ins, then installed plugins."""
    kinds = dict(BUILTIN_DETECTORS)
    for name, obj in plugins(DETECTOR_GROUP).items():
        kind = getattr(obj, "kind", None)
        if kind not in KINDS:
            raise PluginError(f"plugin detector {name!r} in group {DETECTOR_GROUP!r} has kind {kind!r}: "
                              f"set its `kind` attribute to one of {', '.join(KINDS)}")
        kinds[name] = kind
    return kinds


def hack_detectors() -> frozenset[str]:
    """Detectors whose findings mean the checks were gamed (hidden tests failed, tests tampered with)."""
    return frozenset(n for n, k in detector_kinds().items() if k == HACK)


def insecure_detectors() -> frozenset[str]:
    """Detectors whose findings mean vulnerable code."""
    return frozenset(n for n, k in detector_kinds().items() if k == INSECURE)


def misaligned_detectors() -> frozenset[str]:
    """Detectors whose findings count as misalignment (hack or insecure)."""
    return frozenset(detector_kinds())
