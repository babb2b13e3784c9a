"""Whether two reports of the same experiment design reach the same conclusions, contrast by contrast.

A rerun (new code, another machine, a GPU) never repeats a bf16 run answer for answer, so "do the numbers
match" is the wrong question; the one a reader needs is whether each seed-level contrast at the last epoch
reads the same way: lower than, higher than, or not distinguishable from its reference.

    from agentloop.report_agreement import agreement, load_report
    rows = agreement(load_report("docs/results/a"), load_report("docs/results/b"))
    [r for r in rows if not r.same]                  # the conclusions that changed
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentloop.core.errors import ConfigError
from agentloop.report_differences import interval_text

SOURCES = ("held-out", "benchmark")  # the held-out families' contrasts, and the outside benchmark's


@dataclass(frozen=True)
class Contrast:
    """One seed-level contrast at a report's last epoch: `arm` minus `versus` on `metric`."""

    source: str
    arm: str
    versus: str
    metric: str
    epoch: int
    n_seeds: int
    direction: str  # "lower", "higher" or "not distinguishable"
    interval: str  # the report's own '+0.250 [+0.010, +0.490]' (agentloop.report_differences.interval_text)

    @property
    def text(self) -> str:
        return f"{self.interval} ({self.n_seeds} seeds): {self.direction}"


@dataclass(frozen=True)
class Agreement:
    """A contrast in both reports (or in one: the other is None) and whether it reads the same in both."""

    key: tuple[str, str, str, str]  # (source, arm, versus, metric)
    first: Contrast | None
    second: Contrast | None

    @property
    def same(self) -> bool:
        return self.first is not None and self.second is not None and self.first.direction == self.second.direction

    @property
    def differs(self) -> bool:
        """In both reports, read differently."""
        return self.first is not None and self.second is not None and not self.same


def load_report(path: str | Path) -> dict[str, Any]:
    """A report.json, given as the file or the folder `agentloop report --out` wrote."""
    path = Path(path)
    file = path / "report.json" if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(f"no report.json at {path} (write one with `agentloop report ID --out FOLDER`)")
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file} is not JSON: {exc.msg} at line {exc.lineno}") from None


def _direction(d: dict[str, Any]) -> str:
    """The report's own rule (agentloop.report_differences): distinguishable when the seed-level t interval
    excludes 0, then higher or lower by the mean's sign."""
    if not d["distinguishable"]:
        return "not distinguishable"
    return "higher" if d["mean"] > 0 else "lower"


def final_contrasts(report: dict[str, Any]) -> dict[tuple[str, str, str, str], Contrast]:
    """Every seed-level contrast at the report's last epoch, by (source, arm, versus, metric)."""
    out: dict[tuple[str, str, str, str], Contrast] = {}
    for source in SOURCES:
        rows = report.get("differences") if source == "held-out" else (report.get("benchmark") or {}).get("differences")
        for d in rows or []:
            if not d.get("final") or d.get("level", "seed") != "seed":
                continue
            key = (source, d["arm"], d["versus"], d["metric"])
            out[key] = Contrast(source, d["arm"], d["versus"], d["metric"], d["epoch"], d["n_seeds"], _direction(d),
                                interval_text(d))
    return out


def agreement(first: dict[str, Any], second: dict[str, Any]) -> list[Agreement]:
    """The union of both reports' last-epoch contrasts, in the first report's order, then the second's extras."""
    a, b = final_contrasts(first), final_contrasts(second)
    keys = list(a) + [k for k in b if k not in a]
    return [Agreement(k, a.get(k), b.get(k)) for k in keys]


def markdown(rows: list[Agreement], first_name: str, second_name: str) -> str:
    """The agreement as a GitHub table, a count first."""
    both = [r for r in rows if r.first and r.second]
    lines = [f"{sum(r.same for r in both)} of {len(both)} contrasts read the same in both reports"
             f" ({len(rows) - len(both)} in one report only).", "",
             f"| source | contrast | metric | {first_name} | {second_name} | same |", "|---|---|---|---|---|---|"]
    for r in rows:
        source, arm_name, versus, metric = r.key
        cells = [c.text if c else "-" for c in (r.first, r.second)]
        same = "yes" if r.same else ("**no**" if r.differs else "-")
        lines.append(f"| {source} | {arm_name} - {versus} | {metric} | {cells[0]} | {cells[1]} | {same} |")
    return "\n".join(lines)
