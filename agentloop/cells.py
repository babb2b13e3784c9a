"""Several runs' episodes stepped together: one `generate` serves every run's policy turns.

    from agentloop.cells import run_cells
    run_cells([(runner_a, run_a), (runner_b, run_b)], epoch=3, split="eval")   # agentloop experiment --cells together

An experiment's cells (arms x seeds) are runs on one engine, each with its own adapter. Stepped
one after another, each decodes at its own batch; stepped together, one call carries every
run's active episodes, each request with its run's adapter (`Engine.generate`'s per-prompt
`adapter`) and its episode's seed, so a run's answers do not depend on which other runs share
the batch. Everything after the policy's answers (gate, sandbox, conscience, store) stays each
run's own (`Runner.finish_step`). Which way is faster depends on the engine: bench/cells_together.py.
"""

from __future__ import annotations

import logging
import time

from agentloop.runner import EpisodeState, Runner, StepStats
from store.heartbeat import ClaimHeartbeat

log = logging.getLogger(__name__)

Cell = tuple[Runner, int]  # a runner and the run it works on


def run_cells(cells: list[Cell], *, epoch: int | None = None, split: str | None = None) -> list[StepStats]:
    """Every unfinished episode of each cell's run (of one epoch/split, if given), in waves of
    each runner's batch_size, all cells' waves stepped together; each runner's stats.

    For one process that owns the runs (an experiment): it claims like `Runner.run` but does not
    wait for other workers' episodes, and Ctrl-C stops at once (KeyboardInterrupt; every finished
    turn is stored). All runners share the first runner's engine."""
    if not cells:
        return []
    first = cells[0][0]
    for runner, run_id in cells:
        runner.count(run_id, epoch=epoch, split=split)
    heartbeat = ClaimHeartbeat(first.rec, first.worker, first.opt.claim_lease_s)
    try:
        while True:
            waves = []
            for runner, run_id in cells:
                plans = runner.claim(run_id, epoch=epoch, split=split)
                if plans:
                    waves.append((runner, runner.start_wave(run_id, plans)))
            if not waves:
                break
            while any(active for _, active in waves):
                waves = [(runner, active) for runner, active in waves if active]
                _step_together(waves)
                waves = [(runner, [ep for ep in active if not ep.done]) for runner, active in waves]
    finally:
        heartbeat.stop()
        for runner, _ in cells:
            try:
                runner.rec.release_claims(runner.worker)
            except Exception:  # the lease frees them anyway
                log.exception("could not release the claims of %s", runner.worker)
    return [runner.stats for runner, _ in cells]


def _step_together(waves: list[tuple[Runner, list[EpisodeState]]]) -> None:
    """One turn of every active episode of every wave: one policy call, then each runner's own rest."""
    episodes = [ep for _, active in waves for ep in active]
    samplings = [s for runner, active in waves for s in runner.samplings(active)]
    adapters = [runner.adapter_id for runner, active in waves for _ in active]
    t0 = time.perf_counter()
    try:
        gens = waves[0][0].engine.generate([ep.messages for ep in episodes], samplings, adapter=adapters)
    except Exception as exc:  # engine errors fail these episodes, not the runs
        for runner, active in waves:
            runner.fail_episodes(active, exc)
        return
    seconds = time.perf_counter() - t0
    start = 0
    for runner, active in waves:
        runner.stats.generate_s += seconds * len(active) / len(episodes)  # the call's time, shared by turns
        try:
            runner.finish_step(active, gens[start:start + len(active)])
        except Exception as exc:  # a sandbox or conscience error fails this run's episodes only
            runner.fail_episodes(active, exc)
        start += len(active)
