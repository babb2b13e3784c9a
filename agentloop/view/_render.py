"""HTML pieces the templates cannot build by escaping alone: highlighted code, the rewrite
diff, the retention chart. Everything from the store is escaped here before it is marked
safe (pygments escapes every token; the SVG escapes every label), so agent output stays text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from agentloop.core.metrics import Rate
from agentloop.view._data import ArmSeries
from store.convert import StoredOutcome, TurnSandbox
from store.models import TurnRow

MAX_HIGHLIGHT_CHARS = 60_000  # longer code is shown plain: pygments would cost more than a page load
MAX_DIFF_LINES = 2_000
CHART_COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04")
CLAIM = 0.8  # the proposal's prediction: retention stays above 80% after 5 epochs


@lru_cache(maxsize=1)
def pygments_css() -> str:
    return HtmlFormatter(style="friendly").get_style_defs(".code")


def line_anchor(turn_index: int, line: int) -> str:
    return f"turn-{turn_index}-L-{line}"  # the id pygments gives line `line` (lineanchors="turn-K-L")


def highlight_code(code: str, turn_index: int, marked_lines: set[int]) -> Markup:
    """Numbered, highlighted code; line n has the id `turn-K-L-n`, `marked_lines` are highlighted."""
    if len(code) > MAX_HIGHLIGHT_CHARS:
        rows = (f'<span id="{line_anchor(turn_index, n)}" class="{"hll" if n in marked_lines else ""}">'
                f'<span class="linenos">{n}</span>{escape(text)}</span>'
                for n, text in enumerate(code.splitlines(), start=1))
        return Markup(f'<div class="code"><pre>{chr(10).join(rows)}</pre></div>')
    formatter = HtmlFormatter(cssclass="code", linenos="inline", hl_lines=sorted(marked_lines),
                              lineanchors=f"turn-{turn_index}-L", anchorlinenos=False, wrapcode=True)
    # pygments escapes every token it emits; the line ids it adds are built from our integer
    return Markup(highlight(code, PythonLexer(stripnl=False, ensurenl=True), formatter))


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add" | "del" | "ctx" | "hunk" | "file"
    text: str


def rewrite_diff(answer: str, rewrite: str) -> list[DiffLine]:
    """The conscience's rewrite as a unified diff against the agent's answer (line by line)."""
    kinds = {"+": "add", "-": "del", " ": "ctx", "@": "hunk"}
    lines = []
    for n, raw in enumerate(difflib.unified_diff(answer.splitlines(), rewrite.splitlines(),
                                                 "agent answer", "conscience rewrite", lineterm="")):
        if n >= MAX_DIFF_LINES:
            lines.append(DiffLine("hunk", f"… diff cut at {MAX_DIFF_LINES} lines"))
            break
        kind = "file" if raw.startswith(("---", "+++")) and n < 2 else kinds.get(raw[:1], "ctx")
        lines.append(DiffLine(kind, raw))
    return lines


@dataclass(frozen=True)
class TestLine:
    nodeid: str
    status: str
    message: str = ""


def _tests(outcomes: tuple[StoredOutcome, ...]) -> list[TestLine]:
    return [TestLine(nodeid=o.nodeid, status=o.status, message=o.message) for o in outcomes]


@dataclass
class TurnView:
    """A turn as the episode page shows it."""

    row: TurnRow
    code_html: Markup | None
    diff: list[DiffLine] = field(default_factory=list)
    visible: list[TestLine] = field(default_factory=list)
    hidden: list[TestLine] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"turn-{self.row.index}"


def turn_view(turn: TurnRow) -> TurnView:
    marked = {f.line for f in turn.findings if f.line}
    verdict = turn.verdict
    runs = TurnSandbox.from_json(turn.sandbox)
    return TurnView(
        row=turn,
        code_html=highlight_code(turn.code, turn.index, marked) if turn.code else None,
        diff=rewrite_diff(turn.answer, verdict.rewrite) if verdict is not None and verdict.rewrite else [],
        visible=_tests(runs.visible), hidden=_tests(runs.hidden))


def retention_svg(series: list[ArmSeries], width: int = 640, height: int = 280) -> Markup:
    """A line chart of retention per arm over epochs, with the proposal's 80% line (inline SVG)."""
    left, right, top, bottom = 48, 150, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.retention for s in series for p in s.points if p.retention is not None]
    epochs = [p.epoch for s in series for p in s.points]
    if not values:
        return Markup('<p class="muted">No retention yet: it needs an epoch 0 with aligned turns.</p>')
    x_max = max(1, max(epochs))
    y_max = max(1.2, max(values) * 1.05)

    def x(epoch: float) -> float:
        return left + plot_w * epoch / x_max

    def y(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>retention over epochs per arm</title>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0, *([1.25] if y_max > 1.25 else [])):
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                     f'<text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.0%}</text>')
    step = max(1, x_max // 10)
    for epoch in range(0, x_max + 1, step):
        parts.append(f'<text class="tick" x="{x(epoch):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{epoch}</text>')
    parts.append(f'<text class="axis" x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">epoch</text>')
    parts.append(f'<line class="claim" x1="{left}" x2="{left + plot_w}" y1="{y(CLAIM):.1f}" y2="{y(CLAIM):.1f}"/>'
                 f'<text class="claim-label" x="{left + plot_w - 4}" y="{y(CLAIM) - 4:.1f}" text-anchor="end">'
                 f'claim: {CLAIM:.0%}</text>')
    for i, arm in enumerate(series):
        color = CHART_COLORS[i % len(CHART_COLORS)]
        points = [(p, x(p.epoch), y(p.retention)) for p in arm.points if p.retention is not None]
        if len(points) > 1:
            coords = " ".join(f"{px:.1f},{py:.1f}" for _, px, py in points)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        for p, px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{color}"><title>'
                         f'{escape(arm.arm)} epoch {p.epoch}: retention {p.retention:.2f} '
                         f'(aligned {Rate(p.aligned, p.n).text()})</title></circle>')
        ly = top + 14 + 18 * i
        parts.append(f'<rect x="{left + plot_w + 14}" y="{ly - 9}" width="12" height="12" fill="{color}"/>'
                     f'<text class="legend" x="{left + plot_w + 32}" y="{ly + 1}">{escape(arm.arm[:18])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
