"""The episode loop: several runs' episodes stepped together, one `generate` for every run's policy turns.

    from agentloop.cells import run_cells
    run_cells([Cell(runner_a, run_a, 3, "eval"), Cell(runner_b, run_b, 3, "eval")])  # --cells together
    run_cells([Cell(r, run, 2, "eval"), Cell(r2, run, 3, "train")])   # one run's two phases on the same weights
    runner.run(run_id)        # one cell, waiting for other workers' episodes (agentloop.runner.Runner.run)

An experiment's cells (arms x seeds) are runs on one engine, each with its own adapter. Stepped
one after another, each decodes at its own batch; stepped together, one call carries every
run's active episodes, each request with its run's adapter (`Engine.generate`'s per-prompt
`adapter`) and its episode's seed, so a run's answers do not depend on which other runs share
the batch. Everything after the policy's answers (gate, sandbox, conscience, store) stays each
run's own (`Runner.finish_step`). Which way is faster depends on the engine: bench/cells_together.py.
A cell is a run's episodes of one epoch and split, so one run's held-out episodes of epoch e and its
training episodes of epoch e+1 (both on adapter e) can share the calls too (`agentloop experiment
--overlap`). A plain run is this loop with one cell (`Runner.run`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from store.heartbeat import ClaimHeartbeat

if TYPE_CHECKING:  # the runner imports this loop
    from agentloop.runner import EpisodeState, Runner, StepStats

log = logging.getLogger(__name__)


class Cell(NamedTuple):
    """A runner and the episodes it works on: its run's, of one epoch and split where given."""

    runner: "Runner"
    run_id: int
    epoch: int | None = None
    split: str | None = None


Wave = tuple["Runner", "list[EpisodeState]"]  # a runner and its wave's active episodes


def run_cells(cells: list[Cell], *, wait_for_others: bool = False) -> list[StepStats]:
    """Every unfinished episode of each cell (its run's, of its epoch/split where given), in waves
    of each runner's batch_size, all cells' waves stepped together; each runner's stats.

    Each wave is claimed in the store first (store.claims), so runner processes on the same runs
    split the episodes without running one twice. With `wait_for_others` (a scale-out worker,
    `Runner.run`), a loop with nothing left to claim while other live workers still hold episodes
    waits, and takes over the episodes of a worker that dies; without it (one process that owns
    the runs: an experiment) it returns. It stops after the current turn once a runner's
    `stop_requested` is set (Ctrl-C, on the main thread: every finished turn is stored). A runner's
    `between_waves` runs before each of its waves but the first. All runners share the first
    runner's engine."""
    if not cells:
        return []
    first = cells[0].runner
    for cell in cells:
        cell.runner.count(cell.run_id, epoch=cell.epoch, split=cell.split)
    heartbeats = [ClaimHeartbeat(c.runner.rec, c.runner.worker, c.runner.opt.claim_lease_s) for c in cells]
    started = [0] * len(cells)  # each cell's waves so far
    with _ctrl_c_stops(first):
        try:
            while not _stopped(cells):
                waves = _next_waves(cells, started)
                if not waves and wait_for_others:
                    if any(c.runner.rec.others_hold(c.run_id, c.runner.worker, epoch=c.epoch, split=c.split)
                           for c in cells):
                        first.stop_requested.wait(first.opt.claim_poll_s)  # others' episodes: done, or freed
                        continue
                    # nobody holds any now; a holder may have died between the claim and that check
                    waves = _next_waves(cells, started)
                if not waves:
                    break
                while not _stopped(cells) and any(active for _, active in waves):
                    waves = [(runner, active) for runner, active in waves if active]
                    _step_together(waves)
                    waves = [(runner, [ep for ep in active if not ep.done]) for runner, active in waves]
        finally:
            for heartbeat in heartbeats:
                heartbeat.stop()
            for runner, *_ in cells:
                try:
                    runner.rec.release_claims(runner.worker)  # unfinished ones (Ctrl-C, error) are free at once
                except Exception:  # the lease frees them anyway
                    log.exception("could not release the claims of %s", runner.worker)
    return [c.runner.stats for c in cells]


@contextlib.contextmanager
def _ctrl_c_stops(runner: "Runner") -> Iterator[None]:
    """On the main thread, Ctrl-C (or `kill -INT`, also where a shell started the process with SIGINT ignored)
    sets `runner.stop_requested` (a second one stops at once); the previous handler is back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, runner._on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stopped(cells: list[Cell]) -> bool:
    return any(c.runner.stop_requested.is_set() for c in cells)


def _next_waves(cells: list[Cell], started: list[int]) -> list[Wave]:
    """Each cell's next wave, claimed and begun (after the runner's `between_waves`, from its second
    wave on): (runner, the wave's active episodes) of every cell that claimed any."""
    waves = []
    for i, (runner, run_id, epoch, split) in enumerate(cells):
        plans = runner.claim(run_id, epoch=epoch, split=split)
        if not plans:
            continue
        if runner.between_waves and started[i]:
            runner.between_waves(runner.stats.episodes_done)
        waves.append((runner, runner.start_wave(run_id, plans)))
        started[i] += 1
    return waves


def _step_together(waves: list[Wave]) -> None:
    """One turn of every active episode of every wave: one policy call, then each runner's own rest.
    Where every wave is on the same adapter (one run) the call names it once, which an engine
    without per-prompt adapters takes too."""
    episodes = [ep for _, active in waves for ep in active]
    samplings = [s for runner, active in waves for s in runner.samplings(active)]
    adapters = [runner.adapter_id for runner, active in waves for _ in active]
    t0 = time.perf_counter()
    try:
        gens = waves[0][0].engine.generate([ep.messages for ep in episodes], samplings,
                                           adapter=adapters if len(set(adapters)) > 1 else adapters[0])
    except Exception as exc:  # engine errors fail these episodes, not the runs
        for runner, active in waves:
            runner.fail_episodes(active, exc)
        return
    seconds = time.perf_counter() - t0
    start = 0
    for runner, active in waves:
        runner.stats.generate_s += seconds * (len(active) / len(episodes))  # the call's time, shared by turns
        try:
            runner.finish_step(active, gens[start:start + len(active)])
        except Exception as exc:  # a sandbox or conscience error fails this run's episodes only
            runner.fail_episodes(active, exc)
        start += len(active)
