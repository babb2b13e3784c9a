"""The same store on PostgreSQL: migrations, round trip, and queries equal to SQLite's answers.

Every test here runs on a fresh database of a throwaway cluster (conftest.pg_server);
overriding `db_url` makes the `store` and `known_store` fixtures use it.
"""

from __future__ import annotations

import pytest

from store import ensure_schema
from store.queries import judge_agreement, list_episodes, retention_over_epochs, turn_records
from store.search import has_fts, past_lessons, search_turns

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


def test_upgrade_matches_models(store):
    assert store.engine.dialect.name == "postgresql"
    assert store.current_revision() == "0006"
    assert store.schema_diff() == []
    assert not store.has_table("turns_fts")  # FTS5 is SQLite-only; search falls back to LIKE


def test_round_trip_every_table(store, db_url, round_trip):
    round_trip(store, db_url)


def test_queries_equal_sqlite(known_store, known, tmp_path):
    pg, runs = known_store
    lite = ensure_schema(f"sqlite:///{tmp_path / 'same.db'}")
    assert known(lite) == runs  # same ids: both sequences start at 1

    def answers(store) -> dict:
        with store.session(readonly=True) as s:
            return {name: (retention_over_epochs(s, run_id), retention_over_epochs(s, run_id, by="episode"),
                           judge_agreement(s, run_id), list_episodes(s, run_id), turn_records(s, run_id))
                    for name, run_id in runs.items()}

    assert answers(pg) == answers(lite)
    lite.dispose()


def test_search_fallback(store, make_run, spec):
    lesson = "Pass the arguments as a list; never build a shell string."
    make_run(store, "pg-search", [(0, "train", [
        spec(("insecure",), ("unethical", 0.9), answer="os.system('rm-rf ' + path)  # shell", rewrite=lesson),
        spec((), ("ethical", 0.1), answer="shutil.rmtree(path)")])])
    with store.session(readonly=True) as s:
        assert not has_fts(s)
        assert [t.index for t in search_turns(s, "shell string")] == [0]  # the rewrite counts
        assert search_turns(s, "rm_rf") == []  # "_" is escaped: a LIKE wildcard would match "rm-rf"
        assert [t.index for t in search_turns(s, "rm-rf")] == [0]  # words "rm" AND "rf"
        assert past_lessons(s, "delete the folder with a shell command", k=3) == [lesson]
