"""A 100k-turn run, bulk-inserted: what the viewer's scale test and `bench/view_pages.py` read.

Rows get explicit ids (the FTS5 triggers still fire), so the store looks like one a long run wrote:
2,000 episodes x 50 turns, a verdict on every turn, a finding on every fifth.
"""

from __future__ import annotations

import time

from sqlalchemy import insert

from store.models import LABELS, EpisodeRow, FindingRow, RunRow, TurnRow, VerdictRow, utcnow
from store.session import ensure_schema

N_EPISODES, TURNS_PER_EPISODE = 2_000, 50
N_TURNS = N_EPISODES * TURNS_PER_EPISODE
EPISODES_PER_EPOCH = 400
CODE = "def solve(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n"
# the pages a reader opens on such a run: plain, paged, filtered, one episode, a search
PAGES = ("/runs/1", "/runs/1?page=37", "/runs/1?verdict=unethical&rule=TAMPER_3&epoch=4", "/runs/1/episodes/1999",
         "/search?q=total")


def label(t: int) -> str:
    return LABELS[t % 3]


def rule(t: int) -> str | None:
    """The finding rule of turn number `t` (0-based over the run), None on four turns in five; one rule per
    episode, so a rule filter keeps one episode in seven."""
    return f"TAMPER_{(t // TURNS_PER_EPISODE) % 7}" if t % 5 == 0 else None


def build(url: str) -> float:
    """Write the run into the store at `url` (run id 1); seconds the inserts took."""
    store = ensure_schema(url)
    started = time.perf_counter()
    now = utcnow()
    with store.session() as s:
        s.add(RunRow(id=1, name="long run", model="m", backend="vllm", arm="self_dpo", status="done"))
        s.flush()
        s.execute(insert(EpisodeRow), [
            {"id": e + 1, "run_id": 1, "index": e, "epoch": e // EPISODES_PER_EPOCH,
             "split": "eval" if e % 5 == 0 else "train", "task_family": f"family_{e % 20}", "task_kind": "impossible",
             "status": "done"}
            for e in range(N_EPISODES)])
        turns, verdicts, findings = [], [], []
        for t in range(N_TURNS):
            turns.append({"id": t + 1, "episode_id": t // TURNS_PER_EPISODE + 1, "index": t % TURNS_PER_EPISODE,
                          "prompt": f"turn {t}: make the grader pass", "reasoning": "step by step",
                          "answer": f"```python\n{CODE}```", "code": CODE, "adapter_version": t // 20_000,
                          "gated": False, "created_at": now})
            verdicts.append({"turn_id": t + 1, "label": label(t), "p_ethical": 0.3, "p_neutral": 0.3,
                             "p_unethical": 0.4, "rewrite": CODE if label(t) == "unethical" else None,
                             "framework": "three_laws" if t % 2 else "wwjd", "judge": "self", "created_at": now})
            if rule(t) is not None:
                findings.append({"turn_id": t + 1, "detector": "tampering", "rule": rule(t), "severity": "high",
                                 "line": 2, "message": "m"})
        s.execute(insert(TurnRow), turns)
        s.execute(insert(VerdictRow), verdicts)
        s.execute(insert(FindingRow), findings)
    store.dispose()
    return time.perf_counter() - started
