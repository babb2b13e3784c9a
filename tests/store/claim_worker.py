"""One claiming worker process of test_claims.py (not a test module: no test_ prefix).

    python claim_worker.py URL RUN_ID WAVE BARRIER_DIR N_WORKERS [hold]

Waits until every worker is ready, then claims waves of WAVE episodes through the Recorder,
as the runner does, and finishes each claimed episode (one turn + close, claim-checked) until
nothing is left. Prints one JSON line: {"worker": id, "episodes": [ids in claim order]}.
With `hold`, it claims one wave, prints it, and sleeps (for kill -9 takeover tests).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from store.recorder import Recorder
from agentloop.core.types import Turn
from store import open_store
from store.claims import worker_id
from store.convert import turn_row


def main(url: str, run_id: int, wave: int, barrier: Path, n_workers: int, hold: bool) -> None:
    rec = Recorder(open_store(url))
    me = worker_id()
    (barrier / f"{me.replace(':', '_')}.ready").touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.glob("*.ready"))) < n_workers and time.monotonic() < deadline:
        time.sleep(0.005)
    done: list[int] = []
    while True:
        plans = rec.claim_episodes(run_id, me, wave, lease_s=3600)
        if hold:
            print(json.dumps({"worker": me, "episodes": [p.episode_id for p in plans]}), flush=True)
            time.sleep(3600)
        if not plans:
            break
        time.sleep(0.05)  # the episodes' work: lets the claimers interleave
        for plan in plans:
            with rec.store.session() as s:  # what record_turn writes, minus the sandbox payload
                from store import claims

                assert claims.holds(s, plan.episode_id, me)
                s.add(turn_row(Turn(index=len(plan.finished_turns), prompt=me, reasoning="", answer="a", code=None), plan.episode_id))
            assert rec.finish_episode(plan.episode_id, status="done", outcome="solved", worker=me)
            done.append(plan.episode_id)
    print(json.dumps({"worker": me, "episodes": done}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]),
         len(sys.argv) > 6 and sys.argv[6] == "hold")
