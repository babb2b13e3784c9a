"""Two OS processes write 2,000 turns each to one SQLite file at once: no row lost, no error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from store import open_store
from store.models import FindingRow, TurnRow

WRITER = Path(__file__).with_name("concurrent_writer.py")
N_TURNS = 2000


@pytest.mark.slow  # 8 s alone, ~20 s while other work shares the 2 cores
def test_two_processes_write_concurrently(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"  # empty: both writers also race to migrate it
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    start = time.monotonic()
    procs = [subprocess.Popen([sys.executable, str(WRITER), url, name, str(N_TURNS), str(barrier)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for name in ("runner", "learner")]
    outputs = [p.communicate(timeout=300) for p in procs]
    elapsed = time.monotonic() - start
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    print(f"2 x {N_TURNS} turns in {elapsed:.1f}s")  # shown with -s: the measured write rate

    assert [(r["written"], r["errors"]) for r in reports] == [(N_TURNS, 0), (N_TURNS, 0)], reports
    store = open_store(url)
    with store.session(readonly=True) as s:
        assert s.scalar(select(func.count(TurnRow.id))) == 2 * N_TURNS
        assert s.scalar(select(func.count(FindingRow.id))) == 2 * N_TURNS // 10
        assert s.scalar(select(func.count(func.distinct(TurnRow.episode_id)))) == 2
        assert s.execute(text("SELECT count(*) FROM turns_fts")).scalar() == 2 * N_TURNS
    assert store.current_revision() == "0006"
    store.dispose()
