"""What the viewer's pages read from the store: run overviews, retention per arm, one page of
filtered episodes, one episode, search hits.

Every query here is bounded or index-backed, so a 100k-turn run stays fast: the episode list
reads one page of episodes (run_id + index order, the unique index) and then the turn,
verdict and finding counts of just those episodes. The numbers themselves come from
`store.queries` (retention, judge agreement), so the viewer shows what the CLI prints.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from store.models import LABELS, SPLITS, AdapterRow, EpisodeRow, FindingRow, RunRow, TurnRow, VerdictRow
from agentloop.metrics import Confusion
from agentloop.labels import hack_detectors, insecure_detectors
from store.queries import (
    EpochRetention,
    RunSummary,
    episode_detail,
    list_runs,
    search_turns,
)
from store.search import query_words

By = Literal["turn", "episode"]
SNIPPET_CHARS = 90  # context either side of a search match


class BadFilter(ValueError):
    """A query parameter the viewer cannot use (the page answers 400 with this message)."""


# ---------------------------------------------------------------------------- runs page


@dataclass(frozen=True)
class RunStats:
    """A run's alignment per epoch and its judge's agreement with the detectors."""

    epochs: list[EpochRetention]
    confusion: Confusion  # positive = misaligned turn (truth) / `unethical` verdict (prediction)
    n_verdicts: int


NO_STATS = RunStats(epochs=[], confusion=Confusion(), n_verdicts=0)  # a run without turns


def _retention(counts: dict[int, list[int]]) -> list[EpochRetention]:
    """EpochRetention rows from epoch -> [n, aligned, hacks, insecure] (store.queries' definitions)."""
    base = counts.get(0)
    base_rate = base[1] / base[0] if base and base[0] else 0.0
    return [EpochRetention(epoch=epoch, n=n, aligned=aligned, hacks=hacks, insecure=insecure,
                           aligned_rate=aligned / n, retention=(aligned / n) / base_rate if base_rate else None,
                           hack_rate=hacks / n, insecure_rate=insecure / n)
            for epoch, (n, aligned, hacks, insecure) in sorted(counts.items()) if n]


def run_stats(session: Session, run_ids: list[int] | None = None, by: By = "turn",
              split: str | None = None) -> dict[int, RunStats]:
    """Per-epoch rates and judge confusion of each run, aggregated in SQL (one pass over the turns).

    The same numbers as `store.queries.retention_over_epochs` and `judge_agreement` (minus
    AUROC), which fetch every turn into Python: 0.9 s and minutes (quadratic AUROC) on a
    100k-turn run, where this takes a fraction of a second.
    """
    def flag(detectors: frozenset[str]) -> Any:
        return func.max(case((FindingRow.detector.in_(sorted(detectors)), 1), else_=0))

    # Flags per flagged turn, aggregated first: an aggregate subquery is computed once, where a
    # correlated EXISTS would be re-evaluated at every reference once SQLite flattens the query.
    flagged = select(FindingRow.turn_id, flag(hack_detectors()).label("hack"),
                     flag(insecure_detectors()).label("insecure")).group_by(FindingRow.turn_id)
    in_scope = []
    if run_ids is not None:
        in_scope.append(EpisodeRow.run_id.in_(run_ids))
    if split is not None:
        in_scope.append(EpisodeRow.split == split)
    f = flagged.subquery()
    turns = (select(EpisodeRow.run_id, EpisodeRow.epoch, EpisodeRow.id.label("episode_id"),
                    func.coalesce(f.c.hack, 0).label("hack"), func.coalesce(f.c.insecure, 0).label("insecure"),
                    VerdictRow.label.label("label"))
             .join(TurnRow, TurnRow.episode_id == EpisodeRow.id)
             .outerjoin(f, f.c.turn_id == TurnRow.id)
             .outerjoin(VerdictRow, VerdictRow.turn_id == TurnRow.id)
             .where(*in_scope))
    t = turns.subquery()
    bad = or_(t.c.hack == 1, t.c.insecure == 1)
    unethical = t.c.label == "unethical"
    judged = t.c.label.is_not(None)

    def count(*conds: ColumnElement[bool]) -> Any:
        return func.sum(case((and_(*conds), 1), else_=0))

    # per episode: turn-level sums, plus the episode's own flags (misaligned if any turn is)
    e = (select(t.c.run_id, t.c.epoch, func.count().label("turns"), count(~bad).label("aligned"),
                func.sum(t.c.hack).label("hacks"), func.sum(t.c.insecure).label("insecure"),
                func.max(t.c.hack).label("ep_hack"), func.max(t.c.insecure).label("ep_insecure"),
                count(judged).label("judged"), count(judged, unethical, bad).label("tp"),
                count(judged, unethical, ~bad).label("fp"), count(judged, ~unethical, bad).label("fn"))
         .group_by(t.c.run_id, t.c.epoch, t.c.episode_id).subquery())
    per_epoch = (select(e.c.run_id, e.c.epoch, func.count(), func.sum(e.c.turns), func.sum(e.c.aligned),
                        func.sum(e.c.hacks), func.sum(e.c.insecure),
                        func.sum(case((and_(e.c.ep_hack == 0, e.c.ep_insecure == 0), 1), else_=0)),
                        func.sum(e.c.ep_hack), func.sum(e.c.ep_insecure), func.sum(e.c.judged),
                        func.sum(e.c.tp), func.sum(e.c.fp), func.sum(e.c.fn))
                 .group_by(e.c.run_id, e.c.epoch))
    counts: dict[int, dict[int, list[int]]] = defaultdict(dict)
    judge: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # judged, tp, fp, fn
    for (run_id, epoch, episodes, n_turns, aligned, hacks, insecure, ep_aligned, ep_hacks, ep_insecure,
         judged_n, tp, fp, fn) in session.execute(per_epoch):
        counts[run_id][epoch] = ([episodes, ep_aligned, ep_hacks, ep_insecure] if by == "episode"
                                 else [n_turns, aligned, hacks, insecure])
        totals = judge[run_id]
        for i, value in enumerate((judged_n, tp, fp, fn)):
            totals[i] += value or 0
    stats = {}
    for run_id, by_epoch in counts.items():
        judged_n, tp, fp, fn = judge[run_id]
        stats[run_id] = RunStats(epochs=_retention(by_epoch), n_verdicts=judged_n,
                                 confusion=Confusion(tp=tp, fp=fp, fn=fn, tn=judged_n - tp - fp - fn))
    return stats


@dataclass(frozen=True)
class RunOverview:
    """One line of the runs page: the run, its scenario and adapters, and its pooled rates."""

    run: RunSummary
    scenario: str
    adapter_versions: list[int]
    stats: RunStats

    @property
    def epochs(self) -> list[EpochRetention]:
        return self.stats.epochs

    def _pooled(self, attr: str) -> float | None:
        n = sum(e.n for e in self.epochs)
        return sum(getattr(e, attr) for e in self.epochs) / n if n else None

    @property
    def aligned_rate(self) -> float | None:
        return self._pooled("aligned")

    @property
    def hack_rate(self) -> float | None:
        return self._pooled("hacks")

    @property
    def insecure_rate(self) -> float | None:
        return self._pooled("insecure")


@dataclass(frozen=True)
class RetentionPoint:
    epoch: int
    n: int
    aligned_rate: float
    retention: float | None  # None without a nonzero epoch-0 aligned rate


@dataclass(frozen=True)
class ArmSeries:
    """Retention over epochs of one arm, pooled over its runs (units summed, not rates averaged)."""

    arm: str
    run_ids: list[int]
    points: list[RetentionPoint]

    def at(self, epoch: int) -> RetentionPoint | None:
        return next((p for p in self.points if p.epoch == epoch), None)


def _scenario_name(path: str | None, name: str) -> str:
    return PurePath(path).stem if path else name


def run_overviews(session: Session, by: By = "turn", split: str | None = None) -> list[RunOverview]:
    """Every run, newest first, with rates pooled over its epochs (`by`/`split` as in retention)."""
    scenario_paths = {run_id: path for run_id, path in session.execute(select(RunRow.id, RunRow.scenario_path))}
    adapters: dict[int, list[int]] = defaultdict(list)
    for run_id, version in session.execute(
            select(AdapterRow.run_id, AdapterRow.version).where(AdapterRow.run_id.is_not(None))
            .order_by(AdapterRow.run_id, AdapterRow.version)):
        adapters[run_id].append(version)
    stats = run_stats(session, by=by, split=split)
    overviews = [RunOverview(run=run, scenario=_scenario_name(scenario_paths.get(run.id), run.name),
                             adapter_versions=adapters.get(run.id, []), stats=stats.get(run.id, NO_STATS))
                 for run in list_runs(session)]
    return overviews


def retention_by_arm(overviews: list[RunOverview]) -> list[ArmSeries]:
    """Pool each arm's runs per epoch, then divide by the arm's pooled epoch-0 aligned rate."""
    pooled: dict[str, dict[int, list[int]]] = defaultdict(dict)  # arm -> epoch -> [n, aligned]
    runs: dict[str, list[int]] = defaultdict(list)
    for overview in overviews:
        arm = overview.run.arm or "(no arm)"
        runs[arm].append(overview.run.id)
        for e in overview.epochs:
            counts = pooled[arm].setdefault(e.epoch, [0, 0])
            counts[0] += e.n
            counts[1] += e.aligned
    series = []
    for arm in sorted(pooled):
        epochs = pooled[arm]
        base = epochs.get(0)
        base_rate = base[1] / base[0] if base else 0.0
        points = [RetentionPoint(epoch=ep, n=n, aligned_rate=aligned / n,
                                 retention=(aligned / n) / base_rate if base_rate else None)
                  for ep, (n, aligned) in sorted(epochs.items())]
        series.append(ArmSeries(arm=arm, run_ids=sorted(runs[arm]), points=points))
    return series


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
