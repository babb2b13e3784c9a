"""A 100k-turn run (tests/_big_store.py): every page a reader opens shows the right rows, with a fixed
number of statements, none of which reads the turns or verdicts table in full.

That is what keeps the pages fast at any run length; how fast they are on a given machine is
measured in `bench/view_pages.py` (bench/RESULTS.md), not asserted here (a timed assert fails
on a busy CI machine, not on a slow page).
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from sqlalchemy import event

from _big_store import EPISODES_PER_EPOCH, N_EPISODES, PAGES, TURNS_PER_EPISODE, build, label, rule

# a statement may not SCAN these (the 100k-row tables): it must SEARCH them through an index
PER_TURN_TABLES = ("turns", "verdicts")
MAX_STATEMENTS = 12  # per page; the same for page 1, page 37 and a filtered page


def _filtered_total(verdict: str, rule_id: str, epoch: int) -> int:
    """The episodes of `epoch` with a turn labelled `verdict` and a turn flagged `rule_id`, from the builder."""
    total = 0
    for e in range(epoch * EPISODES_PER_EPOCH, (epoch + 1) * EPISODES_PER_EPOCH):
        ts = range(e * TURNS_PER_EPISODE, (e + 1) * TURNS_PER_EPISODE)
        total += any(label(t) == verdict for t in ts) and any(rule(t) == rule_id for t in ts)
    return total


def _full_scans(db: str, statements: list[tuple[str, tuple]]) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as con:
        return [(statement[:120], step) for statement, params in statements
                if statement.lstrip().upper().startswith(("SELECT", "WITH"))
                for *_, step in con.execute("EXPLAIN QUERY PLAN " + statement, params)
                if re.match(rf"SCAN ({'|'.join(PER_TURN_TABLES)})\b", step)]


@pytest.mark.slow
def test_100k_turn_run_pages_read_through_indexes(tmp_path):
    from starlette.testclient import TestClient

    from agentloop.view import create_app, open_readonly_store

    db = tmp_path / "big.db"
    build(f"sqlite:///{db}")
    store = open_readonly_store(f"sqlite:///{db}")
    statements: list[tuple[str, tuple]] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: statements.append((statement, params)))
    pages, plans = {}, {}
    with TestClient(create_app(store)) as client:
        for path in PAGES:
            statements.clear()
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:500])
            pages[path] = response.text
            plans[path] = (len(statements), _full_scans(str(db), statements))
    store.dispose()

    assert f">{36 * 50}</a>" in pages["/runs/1?page=37"] and f">{37 * 50 - 1}</a>" in pages["/runs/1?page=37"]
    assert f"{N_EPISODES} episodes" in pages["/runs/1"]
    expected = _filtered_total("unethical", "TAMPER_3", 4)
    assert 0 < expected < EPISODES_PER_EPOCH, "the filter must keep some episodes and drop others"
    assert f"{expected} episodes match" in pages["/runs/1?verdict=unethical&rule=TAMPER_3&epoch=4"]
    assert pages["/runs/1/episodes/1999"].count('<section class="turn"') == TURNS_PER_EPISODE
    assert "50 turns containing every word (first 50)" in pages["/search?q=total"]
    assert {path: n for path, (n, _) in plans.items() if n > MAX_STATEMENTS} == {}
    assert {path: scans for path, (_, scans) in plans.items() if scans} == {}
