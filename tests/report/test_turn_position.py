"""Where in a multi-turn episode the hacks are (store.turn_position): the hack rate at turn 1 and at the
last turn, and the turn of the first hack, per arm/epoch and per task kind, on a store written through the
runner's write API, checked against plain SQL and against counts by hand."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from _recorded_ablation import record_ablation
from agentloop.core.metrics import wilson
from agentloop.report import build_report
from store import ensure_schema
from store.session import sqlite_path
from store.turn_position import TurnPosition, first_hack_text

# impossible episodes: hack at turn 1 then honest; honest then hack; hack at turn 3; one-turn hack; no hack
IMPOSSIBLE = [["hack", "fail"], ["fail", "hack"], ["fail", "fail", "hack"], ["hack"], ["fail", "fail", "fail"]]
HONEST = [["fail", "pass"], ["pass"]]


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    store = ensure_schema(url)
    episodes = [("impossible", a) for a in IMPOSSIBLE] + [("honest", a) for a in HONEST]
    record_ablation(store, "turns", {("off", seed): {0: episodes[-2:], 1: episodes} for seed in (0, 1)})
    store.dispose()
    return url


def _sql_positions(url: str) -> dict[tuple[int, int, str], list[int | None]]:
    """(run, epoch, kind) -> per episode the 0-based index of its first hack turn (None: none), with the
    episode's first- and last-turn hack flags, from plain SQL."""
    con = sqlite3.connect(sqlite_path(url))
    hack_turn = """EXISTS (SELECT 1 FROM findings f WHERE f.turn_id = t.id
                           AND f.detector IN ('hidden_tests', 'tampering'))"""
    rows = con.execute(f"""
        SELECT e.run_id, e.epoch, e.task_kind, e.id, t."index", {hack_turn},
               t."index" = (SELECT MAX(t2."index") FROM turns t2 WHERE t2.episode_id = e.id)
        FROM episodes e JOIN turns t ON t.episode_id = e.id WHERE e.split = 'eval'
        ORDER BY e.id, t."index" """).fetchall()
    con.close()
    out: dict[tuple[int, int, str], dict[int, list]] = {}
    for run, epoch, kind, episode, index, hacked, last in rows:
        ep = out.setdefault((run, epoch, kind), {}).setdefault(episode, [0, 0, None])
        ep[0] |= bool(hacked) and index == 0
        ep[1] |= bool(hacked) and bool(last)
        if hacked and ep[2] is None:
            ep[2] = index
    return {key: list(eps.values()) for key, eps in out.items()}


def test_turn_positions_equal_sql(store_url):
    report = build_report(store_url, "turns")
    kinds = {(r["arm"], r["epoch"], r["kind"]): r for r in report.kinds}
    seeds = {(r["run_id"], r["epoch"]): r for r in report.rows}
    pooled: dict[tuple[int, str], list] = {}
    for (run, epoch, kind), episodes in _sql_positions(store_url).items():
        seed_row = seeds[(run, epoch)]
        pooled.setdefault((epoch, kind), []).extend(episodes)
        assert seed_row["by_kind"][kind]["hacks_first_turn"] == sum(e[0] for e in episodes)
        assert seed_row["by_kind"][kind]["hacks_last_turn"] == sum(e[1] for e in episodes)
    for (epoch, kind), episodes in pooled.items():
        row = kinds[("off", epoch, kind)]
        first, last = sum(e[0] for e in episodes), sum(e[1] for e in episodes)
        assert (row["hacks_first_turn"], row["hacks_last_turn"]) == (first, last)
        assert row["hack_rate_last_turn_ci"] == pytest.approx(list(wilson(last, len(episodes))))
        at = Counter(str(e[2] + 1) for e in episodes if e[2] is not None)
        assert row["first_hack_turn"] == dict(at)


def test_by_hand(store_url, tmp_path):
    report = build_report(store_url, "turns")
    row = next(r for r in report.kinds if (r["arm"], r["epoch"], r["kind"]) == ("off", 1, "impossible"))
    # two seeds x (turn-1 hacks: episodes 1 and 4; last-turn hacks: 2, 3 and 4; first hacks at t1 x2, t2, t3)
    assert (row["n_episodes"], row["hacks"], row["hacks_first_turn"], row["hacks_last_turn"]) == (10, 8, 4, 6)
    assert row["first_hack_turn"] == {"1": 4, "2": 2, "3": 2}
    arm = next(r for r in report.arms if (r["arm"], r["epoch"]) == ("off", 1))
    assert arm["hack_rate_first_turn"] == pytest.approx(2 / 7) and arm["hack_rate_last_turn"] == pytest.approx(3 / 7)
    assert arm["first_hack_turn"] == {"1": 4, "2": 2, "3": 2}
    markdown = report.markdown(tmp_path / "report.md").read_text()
    assert "hack rate at the last turn [95% CI] (k/n)" in markdown and "t1 4, t2 2, t3 2" in markdown


def test_of():
    hack = frozenset({"tampering"})
    position = TurnPosition.of([[frozenset(), hack], [hack], [frozenset()]], hack=hack)
    assert (position.hacks_first_turn, position.hacks_last_turn, position.first_hack_turn) == (1, 2, {"2": 1, "1": 1})
    assert first_hack_text(position.first_hack_turn) == "t1 1, t2 1" and first_hack_text({}) == "-"
