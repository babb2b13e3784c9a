"""The one place that maps store rows to and from the domain types of `agentloop.types`.

    row = turn_row(turn, episode_id, sandbox=result)   # TurnRow with its FindingRows attached
    session.add(row)                                     # one add writes the turn and its findings
    turn = turn_from_row(row)                            # back to agentloop.types.Turn
"""

from __future__ import annotations

from typing import Any

from agentloop.types import Finding, SandboxResult, Turn
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


def sandbox_json(result: SandboxResult) -> dict[str, Any]:
    """What the store keeps of a sandbox run: how it ended, not its output or files."""
    return {
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "killed_by": result.killed_by,
        "backend": result.backend,
        "duration_s": result.duration_s,
        "n_passed": result.n_passed,
        "n_failed": result.n_failed,
    }


def turn_row(turn: Turn, episode_id: int, sandbox: SandboxResult | None = None) -> TurnRow:
    """A TurnRow for `turn`, its findings attached (added with it in one session.add)."""
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
        sandbox=sandbox_json(sandbox) if sandbox is not None else None,
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


__all__ = ["finding_from_row", "finding_row", "sandbox_json", "turn_from_row", "turn_row"]
