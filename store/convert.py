"""The one place that maps store rows to and from the domain types of `agentloop.core.types`.

    row = turn_row(turn, episode_id, sandbox=TurnSandbox.of(visible, hidden))   # its FindingRows attached
    session.add(row)                                     # one add writes the turn and its findings
    turn = turn_from_row(row)                            # back to agentloop.core.types.Turn
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from agentloop.core.types import Finding, SandboxResult, TestOutcome, Turn
from store.models import FindingRow, TurnRow


def finding_row(finding: Finding, turn_id: int | None = None) -> FindingRow:
    """A FindingRow; leave `turn_id` None when it is attached to a TurnRow's `findings`."""
    row = FindingRow(detector=finding.detector, rule=finding.rule, severity=finding.severity,
                     message=finding.message, line=finding.line, file=finding.file)
    if turn_id is not None:
        row.turn_id = turn_id
    return row


def finding_from_row(row: FindingRow) -> Finding:
    return Finding(detector=row.detector, rule=row.rule, severity=row.severity,  # type: ignore[arg-type]
                   message=row.message, line=row.line, file=row.file)


@dataclass(frozen=True)
class StoredOutcome:
    """One test outcome as stored: its id, status and (visible tests only) the first 500 characters of its message."""

    nodeid: str
    status: str
    message: str = ""


def before_gate(evaluation) -> dict[str, Any]:
    """What the answer a gate stopped would have done (an agentloop.detectors.Evaluation of it): its findings'
    detectors and rules, and the visible tests and hidden cases it passed."""
    return {"detectors": sorted({f.detector for f in evaluation.findings}),
            "rules": sorted({f.rule for f in evaluation.findings}),
            "visible_passed": evaluation.visible.n_passed, "visible_total": len(evaluation.visible.tests),
            "hidden_passed": evaluation.hidden.n_passed, "hidden_total": len(evaluation.hidden.tests)}


@dataclass(frozen=True)
class TurnSandbox:
    """`TurnRow.sandbox`, the one shape of that JSON column: how the turn's runs ended (the visible
    tests on the agent's workspace, the hidden cases on a clean copy), not their output or files."""

    visible: tuple[StoredOutcome, ...] = ()  # the tests the agent saw, with messages (resume replays them)
    hidden: tuple[StoredOutcome, ...] = ()  # the hidden cases, status only
    exit_code: int | None = None  # of the visible run
    timed_out: bool = False  # either run
    killed_by: str | None = None  # either run's signal name
    backend: str = ""  # the sandbox backend that ran them
    duration_s: float = 0.0  # both runs
    no_code: bool = False  # the answer had no code to run (and the agent did not give up)
    gave_up: bool = False  # the agent said it gave up
    # gated turns: the stopped answer's own sandbox run (measured, never shown to the user): before_gate()
    before_gate: dict[str, Any] | None = None

    @classmethod
    def of(cls, visible: SandboxResult, hidden: SandboxResult | None = None, *, no_code: bool = False,
           gave_up: bool = False, before_gate: dict[str, Any] | None = None) -> TurnSandbox:
        hid = hidden if hidden is not None else SandboxResult(exit_code=None)
        return cls(visible=tuple(StoredOutcome(t.nodeid, t.status, t.message[:500]) for t in visible.tests),
                   hidden=tuple(StoredOutcome(t.nodeid, t.status) for t in hid.tests),
                   exit_code=visible.exit_code, timed_out=visible.timed_out or hid.timed_out,
                   killed_by=visible.killed_by or hid.killed_by, backend=visible.backend,
                   duration_s=visible.duration_s + hid.duration_s, no_code=no_code, gave_up=gave_up,
                   before_gate=before_gate)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["before_gate"] is None:  # only gated turns measured with conscience.measure_stopped have one
            del data["before_gate"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TurnSandbox:
        """The stored JSON back (None or an older row's keys: defaults; unknown keys are ignored)."""
        data = data or {}
        known = {f.name for f in fields(cls)} - {"visible", "hidden"}
        outcomes = {key: tuple(StoredOutcome(str(t.get("nodeid", "")), str(t.get("status", "")),
                                             str(t.get("message", "") or ""))
                               for t in data.get(key) or [] if isinstance(t, dict)) for key in ("visible", "hidden")}
        return cls(**outcomes, **{k: v for k, v in data.items() if k in known})

    def visible_outcomes(self) -> list[TestOutcome]:
        return [TestOutcome(o.nodeid, o.status, o.message) for o in self.visible]  # type: ignore[arg-type]


def turn_row(turn: Turn, episode_id: int, sandbox: SandboxResult | TurnSandbox | None = None) -> TurnRow:
    """A TurnRow for `turn`, its findings attached (added with it in one session.add); a bare
    SandboxResult is stored as the visible run."""
    if isinstance(sandbox, SandboxResult):
        sandbox = TurnSandbox.of(sandbox)
    return TurnRow(
        episode_id=episode_id,
        index=turn.index,
        prompt=turn.prompt,
        reasoning=turn.reasoning,
        answer=turn.answer,
        code=turn.code,
        prompt_tokens=turn.prompt_tokens,
        completion_tokens=turn.completion_tokens,
        latency_s=turn.latency_s,
        adapter_version=turn.adapter_version,
        gated=turn.gated,
        visible_passed=turn.visible_passed,
        visible_total=turn.visible_total,
        hidden_passed=turn.hidden_passed,
        hidden_total=turn.hidden_total,
        sandbox=sandbox.to_json() if sandbox is not None else None,
        findings=[finding_row(f) for f in turn.findings],
    )


def turn_from_row(row: TurnRow) -> Turn:
    """The domain Turn of a row (loads `row.findings` if not loaded yet)."""
    return Turn(
        index=row.index,
        prompt=row.prompt,
        reasoning=row.reasoning,
        answer=row.answer,
        code=row.code,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        latency_s=row.latency_s,
        adapter_version=row.adapter_version,
        gated=row.gated,
        visible_passed=row.visible_passed,
        visible_total=row.visible_total,
        hidden_passed=row.hidden_passed,
        hidden_total=row.hidden_total,
        findings=[finding_from_row(f) for f in row.findings],
    )


__all__ = ["StoredOutcome", "TurnSandbox", "finding_from_row", "finding_row", "turn_from_row", "turn_row"]
