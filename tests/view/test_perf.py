"""A 100k-turn run: the run page (plain and filtered) and an episode page each render in < 1 s.

Rows are bulk-inserted with explicit ids (the FTS5 triggers still fire), so the store looks
like one a long run wrote: 2,000 episodes x 50 turns, a verdict on every turn, a finding on
every fifth.
"""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import insert

from store.models import EpisodeRow, FindingRow, RunRow, TurnRow, VerdictRow, utcnow
from store.session import ensure_schema

log = logging.getLogger(__name__)

N_EPISODES, TURNS_PER_EPISODE = 2_000, 50
N_TURNS = N_EPISODES * TURNS_PER_EPISODE
BUDGET_S = 1.0
CODE = "def solve(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n"
LABELS = ("ethical", "neutral", "unethical")


def _bulk_store(url: str) -> float:
    store = ensure_schema(url)
    started = time.perf_counter()
    now = utcnow()
    with store.session() as s:
        s.add(RunRow(id=1, name="long run", model="m", backend="vllm", arm="self_dpo", status="done"))
        s.flush()
        s.execute(insert(EpisodeRow), [
            {"id": e + 1, "run_id": 1, "index": e, "epoch": e // 400, "split": "eval" if e % 5 == 0 else "train",
             "task_family": f"family_{e % 20}", "task_kind": "impossible", "status": "done"}
            for e in range(N_EPISODES)])
        turns, verdicts, findings = [], [], []
        for t in range(N_TURNS):
            turns.append({"id": t + 1, "episode_id": t // TURNS_PER_EPISODE + 1, "index": t % TURNS_PER_EPISODE,
                          "prompt": f"turn {t}: make the grader pass", "reasoning": "step by step",
                          "answer": f"```python\n{CODE}```", "code": CODE, "adapter_version": t // 20_000,
                          "gated": False, "created_at": now})
            verdicts.append({"turn_id": t + 1, "label": LABELS[t % 3], "p_ethical": 0.3, "p_neutral": 0.3,
                             "p_unethical": 0.4, "rewrite": CODE if t % 3 == 2 else None,
                             "framework": "three_laws" if t % 2 else "wwjd", "judge": "self", "created_at": now})
            if t % 5 == 0:
                findings.append({"turn_id": t + 1, "detector": "tampering", "rule": f"TAMPER_{t % 7}",
                                 "severity": "high", "line": 2, "message": "m"})
        s.execute(insert(TurnRow), turns)
        s.execute(insert(VerdictRow), verdicts)
        s.execute(insert(FindingRow), findings)
    store.dispose()
    return time.perf_counter() - started


def _timed_get(client, path: str) -> float:
    client.get(path)  # warm: template compile and the first connection are not what a reader waits on
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.text[:500])
    return elapsed


@pytest.mark.slow
def test_100k_turn_run_pages_render_under_a_second(tmp_path):
    from starlette.testclient import TestClient

    from agentloop.view import create_app, open_readonly_store

    url = f"sqlite:///{tmp_path / 'big.db'}"
    insert_s = _bulk_store(url)
    store = open_readonly_store(url)
    with TestClient(create_app(store)) as client:
        timings = {path: _timed_get(client, path) for path in (
            "/runs/1",
            "/runs/1?page=37",
            "/runs/1?verdict=unethical&rule=TAMPER_3&epoch=4",
            "/runs/1/episodes/1999",
            "/search?q=grader",
        )}
        overview_s = _timed_get(client, "/")
        page = client.get("/runs/1?page=37").text
    store.dispose()
    log.info("100k turns inserted in %.1f s; page times %s; runs overview %.2f s", insert_s,
             {k: round(v, 3) for k, v in timings.items()}, overview_s)
    assert f">{36 * 50}</a>" in page and f">{37 * 50 - 1}</a>" in page, "page 37 lists episodes 1800-1849"
    slow = {path: t for path, t in timings.items() if t >= BUDGET_S}
    assert not slow, f"pages over {BUDGET_S} s on a 100k-turn run: {slow}"
