"""Alignment per epoch and judge agreement, aggregated in SQL: the one implementation behind the CLI's
retention and judge agreement (`store.queries.retention_over_epochs`, `judge_agreement`), the report's
judge summary, the viewer's runs page and its per-arm retention.

    from store.stats import run_stats
    with store.session(readonly=True) as s:
        stats = run_stats(s, [run_id], by="episode", split="eval")[run_id]
        stats.epochs        # [EpochRetention(epoch=0, n=..., aligned_rate=..., retention=1.0, ...), ...]
        stats.confusion     # Confusion(tp=..., fp=..., fn=..., tn=...) of `unethical` vs the detectors

One pass over the turns, index-backed: a 100k-turn run takes a fraction of a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from sqlalchemy import ColumnElement, Subquery, and_, case, func, or_, select
from sqlalchemy.orm import Session

from agentloop.core.labels import hack_detectors, insecure_detectors
from agentloop.core.metrics import Confusion, JudgeMetric, judge_metrics
from store.listing import EpochRetention, RunSummary, list_runs
from store.models import AdapterRow, EpisodeRow, FindingRow, RunRow, TurnRow, VerdictRow

By = Literal["turn", "episode"]


# ---------------------------------------------------------------------------- runs page


def pool(confusions: Iterable[Confusion]) -> Confusion:
    """The summed counts of several confusions (epochs of a run, runs of an arm)."""
    cs = list(confusions)
    return Confusion(tp=sum(c.tp for c in cs), fp=sum(c.fp for c in cs), fn=sum(c.fn for c in cs),
                     tn=sum(c.tn for c in cs))


@dataclass(frozen=True)
class RunStats:
    """A run's alignment per epoch and its judge's agreement with the detectors."""

    epochs: list[EpochRetention]
    judged: dict[int, Confusion]  # epoch -> positive = misaligned turn (truth) / `unethical` verdict (prediction)

    @property
    def confusion(self) -> Confusion:
        """Over all epochs."""
        return pool(self.judged.values())

    @property
    def n_verdicts(self) -> int:
        return self.confusion.n

    def confusion_at(self, epoch: int | None) -> Confusion:
        """One epoch's (all epochs' with None)."""
        return self.confusion if epoch is None else self.judged.get(epoch, Confusion())

    @property
    def judge(self) -> dict[str, JudgeMetric]:
        """Precision, recall, kappa, ... over all epochs, each with n_pos and n ("n/a" below MIN_POSITIVES)."""
        return judge_metrics(self.confusion, None)


NO_STATS = RunStats(epochs=[], judged={})  # a run without turns


def _base_rate(counts: dict[int, list[int]]) -> float:
    """Epoch 0's aligned rate from epoch -> [n, aligned, ...]; 0.0 without epoch-0 units."""
    base = counts.get(0)
    return base[1] / base[0] if base and base[0] else 0.0


def _relative(aligned: int, n: int, base_rate: float) -> float | None:
    """Retention: the aligned rate over epoch 0's; None without a nonzero epoch-0 rate."""
    return (aligned / n) / base_rate if base_rate else None


def _retention(counts: dict[int, list[int]]) -> list[EpochRetention]:
    """EpochRetention rows from epoch -> [n, aligned, hacks, insecure] (store.queries' definitions)."""
    base_rate = _base_rate(counts)
    return [EpochRetention(epoch=epoch, n=n, aligned=aligned, hacks=hacks, insecure=insecure,
                           aligned_rate=aligned / n, retention=_relative(aligned, n, base_rate),
                           hack_rate=hacks / n, insecure_rate=insecure / n)
            for epoch, (n, aligned, hacks, insecure) in sorted(counts.items()) if n]


def _turn_facts(run_ids: Sequence[int] | None, split: str | None, epoch: int | None = None,
                framework: str | None = None, judge: str | None = None) -> Subquery:
    """One row per turn in scope: run, epoch, episode, hack/insecure flags (0/1), and the verdict's label and
    P(unethical) (NULL where none, or one of another framework/judge): what retention and judge agreement
    are both counted from."""
    def flag(detectors: frozenset[str]) -> Any:
        return func.max(case((FindingRow.detector.in_(sorted(detectors)), 1), else_=0))

    # Flags per flagged turn, aggregated first: an aggregate subquery is computed once, where a
    # correlated EXISTS would be re-evaluated at every reference once SQLite flattens the query.
    f = (select(FindingRow.turn_id, flag(hack_detectors()).label("hack"),
                flag(insecure_detectors()).label("insecure")).group_by(FindingRow.turn_id)).subquery()
    in_scope = []
    if run_ids is not None:
        in_scope.append(EpisodeRow.run_id.in_(list(run_ids)))
    if split is not None:
        in_scope.append(EpisodeRow.split == split)
    if epoch is not None:
        in_scope.append(EpisodeRow.epoch == epoch)
    # the verdict filters go into the join: a turn judged under another framework still counts as a turn
    verdict_on = [VerdictRow.turn_id == TurnRow.id]
    if framework is not None:
        verdict_on.append(VerdictRow.framework == framework)
    if judge is not None:
        verdict_on.append(VerdictRow.judge == judge)
    return (select(EpisodeRow.run_id, EpisodeRow.epoch, EpisodeRow.id.label("episode_id"),
                   func.coalesce(f.c.hack, 0).label("hack"), func.coalesce(f.c.insecure, 0).label("insecure"),
                   VerdictRow.label.label("label"), VerdictRow.p_unethical.label("p_unethical"))
            .join(TurnRow, TurnRow.episode_id == EpisodeRow.id)
            .outerjoin(f, f.c.turn_id == TurnRow.id)
            .outerjoin(VerdictRow, and_(*verdict_on))
            .where(*in_scope)).subquery()


def _misaligned(t: Subquery) -> ColumnElement[bool]:
    return or_(t.c.hack == 1, t.c.insecure == 1)


def run_stats(session: Session, run_ids: Sequence[int] | None = None, by: By = "turn", split: str | None = None,
              *, framework: str | None = None, judge: str | None = None) -> dict[int, RunStats]:
    """Per-epoch rates and judge confusion of each run (all runs when `run_ids` is None).

    `by="episode"` counts an episode as misaligned when any of its turns is; episodes without turns
    are left out (they show nothing either way). `split` restricts to train or held-out eval episodes;
    `framework`/`judge` restrict the verdicts the confusion counts (not the rates).
    """
    t = _turn_facts(run_ids, split, framework=framework, judge=judge)
    bad = _misaligned(t)
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
    confusions: dict[int, dict[int, Confusion]] = defaultdict(dict)
    for run_id, epoch, *sums in session.execute(per_epoch):
        # int(): PostgreSQL's SUM returns numeric (Decimal), SQLite's an int
        episodes, n_turns, aligned, hacks, insecure, ep_aligned, ep_hacks, ep_insecure, judged_n, tp, fp, fn = (
            int(v or 0) for v in sums)
        counts[run_id][epoch] = ([episodes, ep_aligned, ep_hacks, ep_insecure] if by == "episode"
                                 else [n_turns, aligned, hacks, insecure])
        confusions[run_id][epoch] = Confusion(tp=tp, fp=fp, fn=fn, tn=judged_n - tp - fp - fn)
    return {run_id: RunStats(epochs=_retention(by_epoch), judged=confusions[run_id])
            for run_id, by_epoch in counts.items()}


def judged_turns(session: Session, run_ids: Sequence[int], *, split: str | None = None, epoch: int | None = None,
                 framework: str | None = None, judge: str | None = None) -> tuple[list[bool], list[bool], list[float]]:
    """Over the runs' turns with a verdict: truth (any hack/insecure finding), prediction (verdict ==
    unethical) and P(unethical), one list each, from the facts run_stats counts (AUROC needs the scores)."""
    t = _turn_facts(run_ids, split, epoch, framework, judge)
    rows = session.execute(select(_misaligned(t), t.c.label, t.c.p_unethical).where(t.c.label.is_not(None))).all()
    return ([bool(bad) for bad, _, _ in rows], [label == "unethical" for _, label, _ in rows],
            [p for _, _, p in rows])


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

    def _total(self, attr: str) -> int:
        return sum(getattr(e, attr) for e in self.epochs)

    @property
    def n(self) -> int:
        """Units (turns or episodes) over all epochs: the n of the pooled rates."""
        return self._total("n")

    @property
    def aligned(self) -> int:
        return self._total("aligned")

    @property
    def hacks(self) -> int:
        return self._total("hacks")

    @property
    def insecure(self) -> int:
        return self._total("insecure")

    def _rate(self, k: int) -> float | None:
        return k / self.n if self.n else None

    @property
    def aligned_rate(self) -> float | None:
        return self._rate(self.aligned)

    @property
    def hack_rate(self) -> float | None:
        return self._rate(self.hacks)

    @property
    def insecure_rate(self) -> float | None:
        return self._rate(self.insecure)


@dataclass(frozen=True)
class RetentionPoint:
    epoch: int
    n: int
    aligned: int
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
        base_rate = _base_rate(epochs)
        points = [RetentionPoint(epoch=ep, n=n, aligned=aligned, aligned_rate=aligned / n,
                                 retention=_relative(aligned, n, base_rate))
                  for ep, (n, aligned) in sorted(epochs.items())]
        series.append(ArmSeries(arm=arm, run_ids=sorted(runs[arm]), points=points))
    return series


__all__ = [
    "NO_STATS", "ArmSeries", "By", "RetentionPoint", "RunOverview", "RunStats", "judged_turns", "pool",
    "retention_by_arm", "run_overviews", "run_stats",
]
