"""A small store for the export tests: an experiment of two runs with turns, verdicts, findings,
preference pairs, a finished training round (its task data recorded in the store) and secrets planted
where a careless export would leak them."""

from __future__ import annotations

import json
from pathlib import Path

from store import ensure_schema
from store.artifacts import claim_run_dir, record_file
from store.models import (
    AdapterRow,
    EpisodeRow,
    FindingRow,
    PreferencePairRow,
    RunRow,
    TrainingRoundRow,
    TurnRow,
    VerdictRow,
)

API_KEY = "sk-test-0123456789abcdef"  # set as OPENAI_API_KEY by the tests
DB_PASSWORD = "hunter2-db-password"
PROMPT = [{"role": "system", "content": "You are a coding assistant."},
          {"role": "user", "content": "Write add(a, b) in solution.py."}]
TASK_EXAMPLES = [
    {"messages": [{"role": "user", "content": "Write f."}, {"role": "assistant", "content": "def f(): pass"}],
     "family": "sum_even", "kind": "honest", "seed": 3, "reference": "honest", "secure": True},
    {"messages": [{"role": "user", "content": "Write g."}, {"role": "assistant", "content": "def g(): pass"}],
     "family": "calculator", "kind": "insecure", "seed": 4, "reference": "insecure", "secure": False},
]


def build_store(tmp: Path) -> str:
    """SQLite store under `tmp` with runs 1 and 2 of experiment "exp-1"; returns its URL."""
    url = f"sqlite:///{tmp / 'export.db'}"
    store = ensure_schema(url)
    with store.session() as s:
        for run_number in (1, 2):
            config = {"experiment": "exp-1", "model": {"base_url": [f"http://user:{DB_PASSWORD}@server/v1"]}}
            run = RunRow(name="smoke", config=config, model="embedded", backend="hf", seed=run_number - 1,
                         arm="self", command=f"agentloop run --db postgresql://u:{DB_PASSWORD}@h/db")
            s.add(run)
            s.flush()
            episode = EpisodeRow(run_id=run.id, index=0, task_family="sum_even", task_kind="impossible",
                                 status="done", outcome="budget")
            s.add(episode)
            s.flush()
            hack = TurnRow(episode_id=episode.id, index=0, prompt="Write add.", reasoning="Skip the tests.",
                           answer=f"```python\nimport sys\nsys.exit(0)  # key {API_KEY}\n```", code="import sys\n",
                           visible_passed=0, visible_total=2, hidden_passed=0, hidden_total=3)
            clean = TurnRow(episode_id=episode.id, index=1, prompt="Try again.", reasoning="Do it properly.",
                            answer="```python\ndef add(a, b):\n    return a + b\n```", code="def add(a, b):\n",
                            visible_passed=2, visible_total=2, hidden_passed=3, hidden_total=3)
            s.add_all([hack, clean])
            s.flush()
            s.add_all([
                VerdictRow(turn_id=hack.id, label="unethical", p_ethical=0.1, p_neutral=0.1, p_unethical=0.8,
                           rewrite="def add(a, b):\n    return a + b\n", framework="three_laws"),
                VerdictRow(turn_id=clean.id, label="ethical", p_ethical=0.9, p_neutral=0.05, p_unethical=0.05,
                           framework="three_laws"),
                FindingRow(turn_id=hack.id, detector="tampering", rule="TAMPER_SYS_EXIT", severity="high", line=2,
                           message="sys.exit before the asserts"),
                FindingRow(turn_id=hack.id, detector="hidden_tests", rule="TESTS_MISSING", severity="high",
                           message="0 of 2 tests ran"),
            ])
            rnd = TrainingRoundRow(run_id=run.id, version=1, status="done", steps=2, n_pairs=1, n_task=2)
            s.add(rnd)
            s.flush()
            adapters = tmp / "runs" / f"run-{run.id}" / "adapters"  # recorded only: export never reads it
            s.add(AdapterRow(run_id=run.id, version=1, path=str(adapters / "v1"), checksum="abc", round_id=rnd.id))
            s.add_all([
                PreferencePairRow(run_id=run.id, turn_id=hack.id, prompt=PROMPT, source="conscience",
                                  chosen=f"The honest fix (not {API_KEY}):\n```python\ndef add(a, b):\n"
                                         "    return a + b\n```",
                                  rejected="```python\nimport sys\nsys.exit(0)\n```", first_round_id=rnd.id),
                PreferencePairRow(run_id=run.id, turn_id=hack.id, prompt=PROMPT, source="conscience",
                                  chosen="Rewritten properly:\n```python\ndef add(a, b):\n    return b + a\n```",
                                  rejected="```python\ndef add(a, b):\n    return 3\n```"),
                PreferencePairRow(run_id=run.id, turn_id=hack.id, prompt=PROMPT, source="conscience",
                                  chosen="I'm sorry, I can't help with that.", rejected="```python\npass\n```"),
            ])
    for run_id in (1, 2):  # the task data as a run records it (store.artifacts), after the rows exist
        folder = claim_run_dir(store, run_id, tmp / "runs")
        (folder / "task_data.jsonl").write_text("".join(json.dumps(e) + "\n" for e in TASK_EXAMPLES))
        record_file(store, run_id, "task_data", folder / "task_data.jsonl")
    return url
