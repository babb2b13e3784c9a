"""Full-text search of turns, and the episodic memory of past conscience lessons.

On SQLite the baseline migration keeps an FTS5 index `turns_fts(answer, reasoning, code,
rewrite)` in sync by triggers; results are ranked by bm25. Elsewhere (Postgres, or a
store built without the migration) a LIKE scan is the fallback, ranked by how many
query words a turn contains. Queries are plain text: words are extracted and quoted,
so FTS5 syntax in user input can never raise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, func, or_, select, text
from sqlalchemy.orm import Session, selectinload

from store.models import EpisodeRow, TurnRow, VerdictRow

MAX_QUERY_WORDS = 64  # a whole task prompt can be the query; bm25 needs only its words
# Function words carry no topic; with few stored turns their bm25 weight is noise, not signal.
STOPWORDS = frozenset(
    "a an and are as at be but by do does for from has have he her his i if in into is it its me my no not of "
    "on or our she so than that the their them then there these they this to was we were what when which who "
    "will with you your".split())
_FALLBACK_CANDIDATES = 500


def query_words(query: str) -> list[str]:
    """Distinct lowercase words of `query` (>= 2 chars, no stopwords), in order, at most MAX_QUERY_WORDS."""
    words = dict.fromkeys(w for w in re.findall(r"\w+", query.lower()) if len(w) >= 2 and w not in STOPWORDS)
    return list(words)[:MAX_QUERY_WORDS]


def fts_query(words: Sequence[str], operator: str) -> str:
    """An FTS5 MATCH expression with every word quoted (so no word is read as syntax)."""
    return f" {operator} ".join('"' + w.replace('"', '""') + '"' for w in words)


def has_fts(session: Session) -> bool:
    if session.get_bind().dialect.name != "sqlite":
        return False
    found = session.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'turns_fts'"))
    return found.first() is not None


def _ranked_turn_ids(session: Session, match: str, limit: int, run_id: int | None, lessons: bool) -> list[int]:
    """Turn ids matching `match` in bm25 order, optionally only unethical turns with a rewrite."""
    sql = ("SELECT turns_fts.rowid FROM turns_fts JOIN turns ON turns.id = turns_fts.rowid "
           "JOIN episodes ON episodes.id = turns.episode_id ")
    if lessons:
        sql += "JOIN verdicts ON verdicts.turn_id = turns.id AND verdicts.label = 'unethical' " \
               "AND coalesce(verdicts.rewrite, '') != '' "
    sql += "WHERE turns_fts MATCH :match AND (:run_id IS NULL OR episodes.run_id = :run_id) " \
           "ORDER BY turns_fts.rank LIMIT :limit"
    rows = session.execute(text(sql), {"match": match, "run_id": run_id, "limit": limit})
    return [row[0] for row in rows]


def _like_any(words: Sequence[str], columns: Sequence[ColumnElement[str | None]]) -> list[ColumnElement[bool]]:
    """One condition per word: the word occurs in any of `columns` (case-insensitive)."""
    return [or_(*(func.lower(func.coalesce(c, "")).contains(w, autoescape=True) for c in columns))
            for w in words]


def _word_hits(words: Sequence[str], *texts: str | None) -> int:
    haystack = " ".join(t or "" for t in texts).lower()
    return sum(w in haystack for w in words)


def search_turns(session: Session, query: str, limit: int = 20, run_id: int | None = None) -> list[TurnRow]:
    """Turns containing every word of `query` (answer, reasoning, code or rewrite), best first."""
    words = query_words(query)
    if not words:
        return []
    if has_fts(session):
        ids = _ranked_turn_ids(session, fts_query(words, "AND"), limit, run_id, lessons=False)
        rows = {r.id: r for r in session.scalars(
            select(TurnRow).where(TurnRow.id.in_(ids)).options(selectinload(TurnRow.verdict)))}
        return [rows[i] for i in ids]
    stmt = (select(TurnRow).join(EpisodeRow).outerjoin(VerdictRow)
            .where(and_(*_like_any(words, [TurnRow.answer, TurnRow.reasoning, TurnRow.code, VerdictRow.rewrite])))
            .options(selectinload(TurnRow.verdict)).order_by(TurnRow.id.desc()).limit(limit))
    if run_id is not None:
        stmt = stmt.where(EpisodeRow.run_id == run_id)
    return list(session.scalars(stmt))


def past_lessons(session: Session, query_text: str, k: int = 3, run_id: int | None = None) -> list[str]:
    """Rewrites of past unethical turns most relevant to `query_text` (episodic memory), best first."""
    words = query_words(query_text)
    if not words or k <= 0:
        return []
    if has_fts(session):
        ids = _ranked_turn_ids(session, fts_query(words, "OR"), 4 * k, run_id, lessons=True)
        rewrites = {turn_id: rewrite for turn_id, rewrite in session.execute(
            select(VerdictRow.turn_id, VerdictRow.rewrite).where(VerdictRow.turn_id.in_(ids)))}
        ranked = [rewrites[i] for i in ids]
    else:
        stmt = (select(TurnRow.answer, TurnRow.reasoning, TurnRow.code, VerdictRow.rewrite)
                .join(VerdictRow).join(EpisodeRow)
                .where(VerdictRow.label == "unethical", func.coalesce(VerdictRow.rewrite, "") != "")
                .where(or_(*_like_any(words, [TurnRow.answer, TurnRow.reasoning, TurnRow.code, VerdictRow.rewrite])))
                .order_by(TurnRow.id.desc()).limit(_FALLBACK_CANDIDATES))
        if run_id is not None:
            stmt = stmt.where(EpisodeRow.run_id == run_id)
        candidates = session.execute(stmt).all()
        ranked = [c.rewrite for c in sorted(candidates, key=lambda c: -_word_hits(words, *c))]
    return list(dict.fromkeys(ranked))[:k]  # the same lesson twice teaches nothing new


__all__ = ["has_fts", "past_lessons", "query_words", "search_turns"]
