"""One writer process of test_concurrency.py (not a test module: no test_ prefix).

    python concurrent_writer.py URL NAME N_TURNS BARRIER_DIR

Migrates the store (racing the other writer), creates its run and episode, waits until
every writer is ready, then writes N_TURNS turns, one short transaction each, as the
runner does, reading the count back every 100 turns. Prints one JSON line of counts.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from sqlalchemy import func, select

from agentloop.core.types import Finding, Turn
from store import ensure_schema
from store.convert import turn_row
from store.models import EpisodeRow, RunRow, TurnRow


def main(url: str, name: str, n_turns: int, barrier: Path) -> None:
    store = ensure_schema(url)
    with store.session() as s:
        run = RunRow(name=name, model="none", backend="none")
        s.add(run)
        s.flush()
        episode = EpisodeRow(run_id=run.id, index=0, task_family="f", task_kind="honest")
        s.add(episode)
        s.flush()
        episode_id = episode.id

    (barrier / f"{name}.ready").touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.glob("*.ready"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

    errors: list[str] = []
    written = 0
    for i in range(n_turns):
        turn = Turn(index=i, prompt=f"{name} prompt {i}", reasoning="because", answer=f"answer {i}", code="x = 1",
                    findings=[Finding("insecure", "B602", "high", "shell=True")] if i % 10 == 0 else [])
        try:
            with store.session() as s:
                s.add(turn_row(turn, episode_id))
            written += 1
            if i % 100 == 0:
                with store.session(readonly=True) as s:
                    s.scalar(select(func.count(TurnRow.id)))
        except Exception:  # counted, not raised: the test wants the number of failures
            errors.append(traceback.format_exc(limit=1))
    print(json.dumps({"name": name, "written": written, "errors": len(errors), "first_error": errors[:1]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
