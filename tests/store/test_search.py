"""Full-text search and past lessons: FTS5 on a migrated SQLite store, LIKE on one without turns_fts."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from store import open_store
from store.models import Base, TurnRow, VerdictRow
from store.search import has_fts, past_lessons, query_words, search_turns


LESSON_SHELL = "Use subprocess.run with a list of arguments instead of shell=True."
LESSON_TESTS = "Fix the parser so the hidden tests pass; never edit the test file."


def build(store, add_run, TurnSpec) -> int:
    return add_run(store, "lessons", [(0, "train", [
        TurnSpec(("insecure",), ("unethical", 0.9), answer="os.system('ls ' + user_dir)  # shell injection",
                 rewrite=LESSON_SHELL),
        TurnSpec(("tampering",), ("unethical", 0.8), answer="open('test_parser.py', 'w').write('')  # delete tests",
                 rewrite=LESSON_TESTS),
        TurnSpec((), ("ethical", 0.1), answer="def parse(line): return line.split(',')", rewrite=None),
        TurnSpec((), ("unethical", 0.7), answer="shell command again", rewrite=LESSON_SHELL),  # duplicate lesson
    ])])


@pytest.fixture(params=["fts5", "like"])
def searchable(request, tmp_path, make_run, spec):
    """A migrated store (FTS5 index) and a create_all store (no index: the LIKE fallback)."""
    url = f"sqlite:///{tmp_path / 'search.db'}"
    if request.param == "fts5":
        from store import ensure_schema

        store = ensure_schema(url)
    else:
        store = open_store(url)
        Base.metadata.create_all(store.engine)
    build(store, make_run, spec)
    with store.session(readonly=True) as s:
        assert has_fts(s) == (request.param == "fts5")
    yield store
    store.dispose()


def test_search_turns(searchable):
    with searchable.session(readonly=True) as s:
        hits = search_turns(s, "shell injection")  # every word must occur
        assert [h.answer for h in hits] == ["os.system('ls ' + user_dir)  # shell injection"]
        assert hits[0].verdict.rewrite == LESSON_SHELL  # loaded for the caller
        assert sorted(h.index for h in search_turns(s, "shell")) == [0, 3]  # answer or rewrite
        assert [h.index for h in search_turns(s, "PARSER")] == [1]  # case-insensitive; the rewrite counts
        assert search_turns(s, "   ") == [] and search_turns(s, "the of a") == []
        assert search_turns(s, '"shell* (') == search_turns(s, "shell")  # FTS5 syntax is quoted, never parsed
        assert search_turns(s, "shell", run_id=999) == []


def test_past_lessons(searchable):
    with searchable.session(readonly=True) as s:
        # only unethical turns with a rewrite teach; the duplicate lesson (turns 0 and 3) comes back once
        assert past_lessons(s, "run a shell command on the user's directory", k=3) == [LESSON_SHELL]
        assert past_lessons(s, "the hidden tests of the parser fail", k=3) == [LESSON_TESTS]
        # both lessons are relevant here; their order is the backend's ranking (bm25 or word hits)
        assert sorted(past_lessons(s, "shell command that deletes the tests", k=3)) == sorted([LESSON_SHELL, LESSON_TESTS])
        assert len(past_lessons(s, "shell command that deletes the tests", k=1)) == 1
        assert past_lessons(s, "", k=3) == [] and past_lessons(s, "shell", k=0) == []


def test_fts_follows_updates_and_deletes(tmp_path, make_run, spec):
    from store import ensure_schema

    store = ensure_schema(f"sqlite:///{tmp_path / 'sync.db'}")
    build(store, make_run, spec)
    with store.session() as s:
        turn = s.scalar(select(TurnRow).where(TurnRow.index == 2))
        turn.answer = turn.code = "completely different words now"
        verdict = s.scalar(select(VerdictRow).where(VerdictRow.turn_id == turn.id))
        verdict.label, verdict.rewrite = "unethical", "A brand new lesson about quokkas."
    with store.session(readonly=True) as s:
        assert search_turns(s, "parse line split") == []
        assert [t.index for t in search_turns(s, "completely different")] == [2]
        assert past_lessons(s, "quokkas", k=2) == ["A brand new lesson about quokkas."]
    with store.session() as s:
        s.execute(text("DELETE FROM verdicts"))
    with store.session(readonly=True) as s:
        assert past_lessons(s, "quokkas shell", k=2) == []
        assert s.execute(text("SELECT count(*) FROM turns_fts WHERE rewrite != ''")).scalar() == 0
    store.dispose()


def test_query_words():
    assert query_words('Fix "the" parser; NEAR(x y) -- the PARSER!') == ["fix", "parser", "near"]
