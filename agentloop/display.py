"""The live run display: one line, sized to the terminal, redrawn after every step.

    with RunDisplay(console, total=8) as display:   # agentloop/launch.py
        display.update(stats)                        # runner.on_step

The line holds, by priority: episodes done/total, ETA, hack and insecure rates (with k/n, the
same `StepStats.rates()` the run summary uses), turns, verdict counts, adapter version, tok/s,
elapsed time, and a bar. Whatever does not fit the terminal's width is left out, lowest priority
first, so the line is never cut or wrapped; a very narrow terminal still gets "3/8".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agentloop.runner import StepStats

SEP = " · "
MIN_BAR = 10  # narrower than this, the bar says nothing


@dataclass
class Snapshot:
    """What the progress line shows; `progress_line` renders it at a given width."""

    done: int = 0
    total: int = 0
    stats: StepStats | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    note: str | None = None


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _fields(snap: Snapshot) -> list[tuple[int, str]]:
    """(priority, text) in display order; lower priority numbers survive narrower terminals."""
    fields = [(0, f"episodes {snap.done}/{snap.total}")]
    if snap.note:
        fields.append((2, snap.note))
    st = snap.stats
    if st is not None and st.turns:
        rates = st.rates()
        v = st.verdicts
        fields += [(3, f"hack {rates.hack.short()}"), (4, f"insecure {rates.insecure.short()}"),
                   (5, f"turns {st.turns}")]
        if sum(v.values()):
            fields.append((6, f"verdicts e/n/u {v['ethical']}/{v['neutral']}/{v['unethical']}"))
        fields.append((7, f"adapter {'v' + str(st.adapter) if st.adapter else 'base'}"))
        if st.tokens_per_s:
            fields.append((8, f"{st.tokens_per_s:.0f} tok/s"))
    fields.append((9, f"elapsed {_clock(snap.elapsed_s)}"))
    fields.append((1, f"ETA {_clock(snap.eta_s)}" if snap.eta_s is not None else "ETA -"))
    return fields


def progress_line(snap: Snapshot, width: int) -> str:
    """The line for a terminal `width` columns wide: never longer than `width`."""
    fields = _fields(snap)
    kept: set[int] = set()
    used = 0
    for i in sorted(range(len(fields)), key=lambda i: fields[i][0]):
        cost = len(fields[i][1]) + (len(SEP) if kept else 0)
        if used + cost > width:  # strict priority: nothing less important takes the place
            break
        kept.add(i)
        used += cost
    if not kept:  # narrower than "episodes 3/8": the bare count, cut only if even that does not fit
        return f"{snap.done}/{snap.total}"[:max(width, 0)]
    text = SEP.join(fields[i][1] for i in sorted(kept))
    room = width - len(text) - 1
    if room >= MIN_BAR and snap.total:
        bar = min(room, 40)
        filled = round(bar * min(snap.done, snap.total) / snap.total)
        text = f"{text} {'━' * filled}{'─' * (bar - filled)}"
    return text


class RunDisplay:
    """The live line over a run's episodes (rich `Live`, redrawn on resize); a no-op when disabled.

    sys.stdout/sys.stderr are left alone (no rich redirection): other libraries' output goes
    where `agentloop.core.logs` sends it (the run's log file), never through the project's console."""

    def __init__(self, console: Console, total: int, done: int = 0, enabled: bool = True) -> None:
        self.console = console
        self.snap = Snapshot(done=done, total=total)
        self.started = time.perf_counter()
        self._done_at_start = done  # episodes finished before this session (a resumed run)
        self.live = Live(self, console=console, refresh_per_second=2, transient=False, auto_refresh=True,
                         redirect_stdout=False, redirect_stderr=False) if enabled else None

    def __enter__(self) -> RunDisplay:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self._tick()
            self.live.__exit__(*exc)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self._tick()
        yield Text(progress_line(self.snap, options.max_width), no_wrap=True, overflow="crop")

    def _tick(self) -> None:
        """Elapsed time and the ETA: the mean time per episode finished in this session, times those left."""
        snap = self.snap
        snap.elapsed_s = time.perf_counter() - self.started
        finished_here = snap.done - self._done_at_start
        left = max(snap.total - snap.done, 0)
        if not snap.total:  # not known yet
            snap.eta_s = None
        else:
            snap.eta_s = 0.0 if not left else (snap.elapsed_s / finished_here * left if finished_here > 0 else None)

    def set_total(self, total: int, done: int | None = None) -> None:
        """The run's episode count (and those already finished, for a resumed run)."""
        self.snap.total = total
        if done is not None:
            self.snap.done = self._done_at_start = done

    def update(self, stats: StepStats) -> None:
        self.snap.stats = stats
        self.snap.done, self.snap.total = stats.episodes_done, stats.episodes_total or self.snap.total
        self.snap.note = None
        if self.live is not None:
            self.live.refresh()

    def note(self, text: str) -> None:
        """A short status (e.g. a learner round in progress) shown until the next step."""
        self.snap.note = text
        if self.live is not None:
            self.live.refresh()


def summary_table(title: str, rows: dict[str, object]) -> Table:
    """The end-of-run table: one metric per row (rates arrive pre-formatted with n and CI)."""
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in rows.items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else "-" if value is None else str(value))
    return table
