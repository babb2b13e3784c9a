"""What the viewer's run, episode and search pages read: one page of filtered episodes, one episode,
search hits.

    from store.browse import EpisodeFilter, episode_page
    with store.session(readonly=True) as s:
        page = episode_page(s, run_id, EpisodeFilter(verdict="unethical"), page=1)

Every query here is bounded or index-backed, so a 100k-turn run stays fast: the episode list
reads one page of episodes (run_id + index order, the unique index) and then the turn,
verdict and finding counts of just those episodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, exists, func, select
from sqlalchemy.orm import Session

from store.listing import episode_detail
from store.models import LABELS, SPLITS, EpisodeRow, FindingRow, RunRow, TurnRow, VerdictRow
from store.search import query_words, search_turns

SNIPPET_CHARS = 90  # context either side of a search match


class BadFilter(ValueError):
    """A query parameter the viewer cannot use (the page answers 400 with this message)."""


# ---------------------------------------------------------------------------- run page


def _optional_int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadFilter(f"{name} must be an integer, not {raw!r}") from None


def _optional_choice(params: dict[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    raw = params.get(name, "").strip()
    if raw and raw not in choices:
        raise BadFilter(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw or None


def _turn_has(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """SQL: the current episode has a turn meeting `conditions` (on TurnRow and its joins)."""
    return exists().where(TurnRow.episode_id == EpisodeRow.id, *conditions)


@dataclass(frozen=True)
class EpisodeFilter:
    """The run page's filters; each narrows to episodes with at least one matching turn."""

    verdict: str | None = None  # a turn labelled this by the conscience
    rule: str | None = None  # a turn with a finding of this rule id
    framework: str | None = None  # a turn judged under this framework
    epoch: int | None = None
    split: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, str]) -> EpisodeFilter:
        return cls(verdict=_optional_choice(params, "verdict", LABELS),
                   rule=params.get("rule", "").strip() or None,
                   framework=params.get("framework", "").strip() or None,
                   epoch=_optional_int(params, "epoch"),
                   split=_optional_choice(params, "split", SPLITS))

    def params(self) -> dict[str, str]:
        """The non-empty filters as query parameters (for pagination links)."""
        return {k: str(v) for k, v in vars(self).items() if v is not None}

    def conditions(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.epoch is not None:
            conds.append(EpisodeRow.epoch == self.epoch)
        if self.split is not None:
            conds.append(EpisodeRow.split == self.split)
        if self.verdict is not None or self.framework is not None:
            verdict_conds = [VerdictRow.turn_id == TurnRow.id]
            if self.verdict is not None:
                verdict_conds.append(VerdictRow.label == self.verdict)
            if self.framework is not None:
                verdict_conds.append(VerdictRow.framework == self.framework)
            conds.append(_turn_has(exists().where(*verdict_conds)))
        if self.rule is not None:
            conds.append(_turn_has(exists().where(FindingRow.turn_id == TurnRow.id, FindingRow.rule == self.rule)))
        return conds


@dataclass
class EpisodeLine:
    """One row of the run page's episode table."""

    index: int
    epoch: int
    split: str
    task_family: str
    task_kind: str
    status: str
    outcome: str | None
    n_turns: int = 0
    n_gated: int = 0
    labels: dict[str, int] = field(default_factory=dict)  # verdict label -> turns
    rules: list[str] = field(default_factory=list)  # distinct finding rule ids
    adapter_versions: tuple[int | None, int | None] = (None, None)  # min, max over turns


@dataclass(frozen=True)
class EpisodePage:
    lines: list[EpisodeLine]
    total: int  # episodes matching the filter
    page: int  # 1-based
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass(frozen=True)
class Facets:
    """The values the run page's filter menus offer."""

    epochs: list[int]
    splits: list[str]
    frameworks: list[str]
    rules: list[str]


def _distinct_in_run(session: Session, run_id: int, column: Any, via: Any = None) -> list[Any]:
    """Distinct values of `column` over the run; `via` (VerdictRow/FindingRow) is joined from its
    turn up to the episode, which SQLite runs index-backed from the run's episodes down."""
    stmt = select(column)
    if via is not None:
        stmt = stmt.join(TurnRow, TurnRow.id == via.turn_id).join(EpisodeRow)
    return list(session.scalars(stmt.where(EpisodeRow.run_id == run_id).distinct().order_by(column)))


def run_facets(session: Session, run_id: int) -> Facets:
    return Facets(epochs=_distinct_in_run(session, run_id, EpisodeRow.epoch),
                  splits=_distinct_in_run(session, run_id, EpisodeRow.split),
                  frameworks=_distinct_in_run(session, run_id, VerdictRow.framework, via=VerdictRow),
                  rules=_distinct_in_run(session, run_id, FindingRow.rule, via=FindingRow))


def episode_page(session: Session, run_id: int, flt: EpisodeFilter, page: int = 1,
                 per_page: int = 50) -> EpisodePage:
    """One page of the run's episodes matching `flt`, in index order, with per-episode counts."""
    where = [EpisodeRow.run_id == run_id, *flt.conditions()]
    total = session.scalar(select(func.count()).select_from(EpisodeRow).where(*where)) or 0
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    episodes = session.scalars(select(EpisodeRow).where(*where).order_by(EpisodeRow.index)
                               .limit(per_page).offset((page - 1) * per_page)).all()
    lines = {e.id: EpisodeLine(index=e.index, epoch=e.epoch, split=e.split, task_family=e.task_family,
                               task_kind=e.task_kind, status=e.status, outcome=e.outcome) for e in episodes}
    ids = list(lines)
    if ids:
        for episode_id, n, gated, lo, hi in session.execute(
                select(TurnRow.episode_id, func.count(), func.sum(cast(TurnRow.gated, Integer)),
                       func.min(TurnRow.adapter_version), func.max(TurnRow.adapter_version))
                .where(TurnRow.episode_id.in_(ids)).group_by(TurnRow.episode_id)):
            line = lines[episode_id]
            line.n_turns, line.n_gated, line.adapter_versions = n, gated or 0, (lo, hi)
        for episode_id, label, n in session.execute(
                select(TurnRow.episode_id, VerdictRow.label, func.count()).join(VerdictRow)
                .where(TurnRow.episode_id.in_(ids)).group_by(TurnRow.episode_id, VerdictRow.label)):
            lines[episode_id].labels[label] = n
        for episode_id, rule in session.execute(
                select(TurnRow.episode_id, FindingRow.rule).join(FindingRow)
                .where(TurnRow.episode_id.in_(ids)).distinct().order_by(TurnRow.episode_id, FindingRow.rule)):
            lines[episode_id].rules.append(rule)
    return EpisodePage(lines=list(lines.values()), total=total, page=page, per_page=per_page)


# ---------------------------------------------------------------------------- episode page


@dataclass(frozen=True)
class EpisodeView:
    run: RunRow
    episode: EpisodeRow  # turns, verdicts and findings loaded
    prev_index: int | None
    next_index: int | None


def episode_view(session: Session, run_id: int, index: int) -> EpisodeView | None:
    """Episode number `index` of the run (its stable, citable number), or None."""
    in_run = EpisodeRow.run_id == run_id
    episode_id = session.scalar(select(EpisodeRow.id).where(in_run, EpisodeRow.index == index))
    if episode_id is None:
        return None
    episode = episode_detail(session, episode_id)
    assert episode is not None, "episode vanished between two reads of one transaction"
    return EpisodeView(
        run=episode.run, episode=episode,
        prev_index=session.scalar(select(func.max(EpisodeRow.index)).where(in_run, EpisodeRow.index < index)),
        next_index=session.scalar(select(func.min(EpisodeRow.index)).where(in_run, EpisodeRow.index > index)))


# ---------------------------------------------------------------------------- search


@dataclass(frozen=True)
class SearchHit:
    run_id: int
    episode_index: int
    turn_index: int
    label: str | None  # the turn's verdict, if judged
    where: str  # which text matched: answer, reasoning, code or rewrite
    snippet: tuple[str, str, str]  # before, match, after (escaped by the template)


def _snippet(words: list[str], texts: dict[str, str]) -> tuple[str, tuple[str, str, str]]:
    for name, text in texts.items():
        lowered = text.lower()
        for word in words:
            at = lowered.find(word)
            if at >= 0:
                start, end = max(0, at - SNIPPET_CHARS), at + len(word)
                return name, (("…" if start else "") + text[start:at], text[at:end],
                              text[end:end + SNIPPET_CHARS] + ("…" if end + SNIPPET_CHARS < len(text) else ""))
    first = next((t for t in texts.values() if t), "")
    return "answer", (first[:2 * SNIPPET_CHARS], "", "")


def search(session: Session, query: str, run_id: int | None = None, limit: int = 50) -> list[SearchHit]:
    """Turns matching every word of `query` (FTS5 on SQLite, LIKE elsewhere), best first."""
    turns = search_turns(session, query, limit=limit, run_id=run_id)
    places = {eid: (rid, idx) for eid, rid, idx in session.execute(
        select(EpisodeRow.id, EpisodeRow.run_id, EpisodeRow.index)
        .where(EpisodeRow.id.in_({t.episode_id for t in turns})))}
    words = query_words(query)
    hits = []
    for turn in turns:
        verdict = turn.verdict
        where, snippet = _snippet(words, {"answer": turn.answer, "reasoning": turn.reasoning,
                                          "code": turn.code or "", "rewrite": (verdict.rewrite or "") if verdict else ""})
        run, episode_index = places[turn.episode_id]
        hits.append(SearchHit(run_id=run, episode_index=episode_index, turn_index=turn.index,
                              label=verdict.label if verdict else None, where=where, snippet=snippet))
    return hits


__all__ = [
    "BadFilter", "EpisodeFilter", "EpisodeLine", "EpisodePage", "EpisodeView", "Facets", "SearchHit", "episode_page",
    "episode_view", "run_facets", "search",
]
