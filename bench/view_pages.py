"""Viewer pages on a 100k-turn run: time per page against reading the whole run.

    .venv/bin/python bench/view_pages.py [--repeats 5] [--db PATH]

Builds the run of tests/_big_store.py (2,000 episodes x 50 turns, a verdict on every turn; the
store the viewer's scale test checks) unless --db names one already built, then times each page a
reader opens through the real app (best of `repeats`, after one warm request: template compile and
the first connection are not what a reader waits on). The baseline, measured in the same run: one
SELECT of every turn of the run with its verdict, what a page without paging and SQL aggregates
would at least cost. Issue 10's bar: a 100k-turn run loads in under a second.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the run's builder lives with the suite
from _big_store import N_TURNS, PAGES, build  # noqa: E402
from _table import print_table  # noqa: E402
from detectors import best_of  # noqa: E402
from agentloop.view import create_app, open_readonly_store  # noqa: E402

READ_RUN = text("SELECT t.id, t.prompt, t.answer, t.code, v.label, v.rewrite FROM turns t "
                "JOIN episodes e ON e.id = t.episode_id LEFT JOIN verdicts v ON v.turn_id = t.id WHERE e.run_id = 1")


def warm_best_of(repeats: int, fn: Callable[[], object]) -> float:
    """One warm call, then seconds for one call, the best of `repeats`."""
    fn()
    return best_of(repeats, fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--db", type=Path, help="a store tests/_big_store.py built (default: build one in a temp dir)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "big.db"
        rows = []
        if args.db is None:
            rows.append(("build the run (bulk insert, s)", f"{build(f'sqlite:///{db}'):.1f}"))
        store = open_readonly_store(f"sqlite:///{db}")

        def read_run() -> None:
            with store.session(readonly=True) as s:
                assert len(s.execute(READ_RUN).all()) == N_TURNS

        baseline = warm_best_of(args.repeats, read_run)
        rows.append((f"baseline: SELECT the run's {N_TURNS} turns + verdicts (s)", f"{baseline:.3f}"))
        with TestClient(create_app(store)) as client:
            for path in (*PAGES, "/"):
                def get(path: str = path) -> None:
                    assert client.get(path).status_code == 200, path
                page = warm_best_of(args.repeats, get)
                rows.append((f"GET {path} (s; x baseline)", f"{page:.3f}; {page / baseline:.2f}x"))
        store.dispose()
    print_table(rows)


if __name__ == "__main__":
    main()
