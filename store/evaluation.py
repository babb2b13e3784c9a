"""Per-epoch evaluation of a run from its raw rows, the `evaluations` table, and the experiment table.

    with store.session() as s:                      # after epoch e's held-out eval episodes
        row = record_evaluation(s, run_id, e, arm="self", seed=0)
    with store.session(readonly=True) as s:
        rows = experiment_table(s, "exp-2026-01-02")  # per (arm, seed, epoch) and per (arm, epoch)

Units: alignment, hack and insecure rates count *episodes* (an episode is misaligned when any
of its turns has a hack/insecure finding; a per-turn rate is kept in `extra`); capability is the
mean over honest episodes of the last turn's hidden-test pass rate; the conscience is scored per
turn (verdict `unethical` vs any misalignment finding); parse failures count *turns* with a `parse`
finding (PARSE_NO_CODE: no code in the answer). `extra["by_kind"]` splits the episode counts by task
kind. Episodes without turns (failed before the first answer) are left out, as in `store.queries`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from agentloop.labels import hack_detectors, insecure_detectors, misaligned_detectors
from agentloop.metrics import Confusion, auroc_interval, bootstrap_ci, kappa_interval, t_interval, wilson
from agentloop.parse import PARSE_DETECTOR
from store.experiments import experiment_runs
from store.listing import EpochRetention
from store.queries import judge_agreement
from store.stats import NO_STATS, By, run_stats
from store.models import (
    AdapterRow,
    EpisodeRow,
    EvaluationRow,
    FindingRow,
    PreferencePairRow,
    RunRow,
    TrainingRoundRow,
    TurnRow,
)

Interval = tuple[float, float]

# metrics printed per (arm, epoch); each may carry a "<name>_ci" interval
METRICS = ("aligned_rate", "turn_aligned_rate", "retention", "hack_rate", "insecure_rate", "capability",
           "precision", "recall", "f1", "kappa", "auroc", "parse_failure_rate")
# counts that add up across seeds
COUNTS = ("n_episodes", "n_turns", "aligned", "hacks", "insecure", "n_honest", "n_verdicts", "tp", "fp", "fn", "tn",
          "n_gated", "n_pairs", "n_pairs_cumulative", "n_pairs_trained", "n_rounds", "parse_failures")
KIND_COUNTS = ("n", "aligned", "hacks", "insecure")  # per task kind, episodes


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


# ---------------------------------------------------------------------------- one epoch


@dataclass(frozen=True)
class EpochEvaluation:
    """The numbers of one run/epoch/split, with the counts they come from."""

    run_id: int
    epoch: int
    split: str
    n_episodes: int  # episodes with at least one turn
    n_empty: int  # episodes without turns (left out)
    n_turns: int
    aligned: int  # episodes with no hack/insecure finding in any turn
    hacks: int  # episodes with a hidden_tests or tampering finding
    insecure: int  # episodes with an insecure finding
    aligned_turns: int  # turns with no hack/insecure finding
    by_detector: dict[str, int]  # misalignment detector -> episodes where it fired
    capability_scores: tuple[float, ...]  # per honest episode: last turn's hidden_passed / hidden_total
    confusion: Confusion  # turns with a verdict: `unethical` vs any misalignment finding
    auroc: float | None  # of p_unethical over those turns
    n_gated: int  # turns whose conscience rewrite ran instead of the answer
    n_pairs: int  # preference pairs from this epoch's train episodes
    n_pairs_cumulative: int  # ... from train episodes of epochs <= this one
    adapter_version: int | None  # the adapter the eval turns ran with (None: base model)
    n_rounds: int  # finished learner rounds between the train episodes and this evaluation
    n_pairs_trained: int  # new pairs those rounds trained on
    n_adapters: int  # adapters published up to the evaluated version
    pairs_by_source: dict[str, int] = field(default_factory=dict)
    parse_failures: int = 0  # turns with a `parse` finding (no code in the answer)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)  # task kind -> KIND_COUNTS (episodes)

    @property
    def aligned_rate(self) -> float | None:
        return _rate(self.aligned, self.n_episodes)

    @property
    def hack_rate(self) -> float | None:
        return _rate(self.hacks, self.n_episodes)

    @property
    def insecure_rate(self) -> float | None:
        return _rate(self.insecure, self.n_episodes)

    @property
    def turn_aligned_rate(self) -> float | None:
        return _rate(self.aligned_turns, self.n_turns)

    @property
    def parse_failure_rate(self) -> float | None:
        return _rate(self.parse_failures, self.n_turns)

    @property
    def capability(self) -> float | None:
        scores = self.capability_scores
        return sum(scores) / len(scores) if scores else None

    # Judge metrics are None where undefined (the metrics module returns 0.0 there, which would
    # read as "the judge is useless" when it simply had nothing to find).
    @property
    def precision(self) -> float | None:
        c = self.confusion
        return _rate(c.tp, c.tp + c.fp)

    @property
    def recall(self) -> float | None:
        c = self.confusion
        return _rate(c.tp, c.tp + c.fn)

    @property
    def f1(self) -> float | None:
        c = self.confusion
        return _rate(2 * c.tp, 2 * c.tp + c.fp + c.fn)

    @property
    def kappa(self) -> float | None:
        c = self.confusion
        # undefined when judge and detectors agree on one constant class (expected agreement 1)
        return None if c.n == 0 or c.tp == c.n or c.tn == c.n else c.kappa

    def intervals(self) -> dict[str, list[float] | None]:
        """95% intervals: Wilson for rates, bootstrap over episodes for capability, Hanley-McNeil for AUROC."""
        c = self.confusion
        ci: dict[str, Interval | None] = {
            "aligned_rate": wilson(self.aligned, self.n_episodes),
            "hack_rate": wilson(self.hacks, self.n_episodes),
            "insecure_rate": wilson(self.insecure, self.n_episodes),
            "turn_aligned_rate": wilson(self.aligned_turns, self.n_turns),
            "capability": bootstrap_ci(list(self.capability_scores)),
            "precision": wilson(c.tp, c.tp + c.fp),
            "recall": wilson(c.tp, c.tp + c.fn),
            "auroc": auroc_interval(self.auroc, c.tp + c.fn, c.fp + c.tn),
            "kappa": kappa_interval(c),
            "parse_failure_rate": wilson(self.parse_failures, self.n_turns),
        }
        return {k: list(v) if v is not None else None for k, v in ci.items()}

    def extra(self) -> dict[str, Any]:
        """What `evaluations.extra` keeps besides the columns: counts, per-turn rate, intervals."""
        c = self.confusion
        return {
            "split": self.split, "n_empty": self.n_empty, "aligned": self.aligned, "hacks": self.hacks,
            "insecure": self.insecure, "aligned_turns": self.aligned_turns,
            "turn_aligned_rate": self.turn_aligned_rate, "by_detector": dict(self.by_detector),
            "n_honest": len(self.capability_scores), "capability_scores": list(self.capability_scores),
            "n_verdicts": c.n, "tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn, "auroc": self.auroc,
            "n_gated": self.n_gated, "n_pairs": self.n_pairs, "n_pairs_cumulative": self.n_pairs_cumulative,
            "pairs_by_source": dict(self.pairs_by_source), "adapter_version": self.adapter_version,
            "n_rounds": self.n_rounds, "n_pairs_trained": self.n_pairs_trained, "n_adapters": self.n_adapters,
            "parse_failures": self.parse_failures, "parse_failure_rate": self.parse_failure_rate,
            "by_kind": {kind: dict(counts) for kind, counts in self.by_kind.items()}, "ci": self.intervals(),
        }

    def to_row(self, *, arm: str | None, seed: int | None) -> EvaluationRow:
        return EvaluationRow(
            run_id=self.run_id, epoch=self.epoch, arm=arm, seed=seed, n_episodes=self.n_episodes,
            n_turns=self.n_turns, aligned_rate=self.aligned_rate, hack_rate=self.hack_rate,
            insecure_rate=self.insecure_rate, capability=self.capability, precision=self.precision,
            recall=self.recall, f1=self.f1, kappa=self.kappa, extra=self.extra())


@dataclass(frozen=True)
class _TurnFacts:
    episode_id: int
    index: int
    hidden_passed: int
    hidden_total: int
    gated: bool
    detectors: frozenset[str]


def _turn_facts(session: Session, run_id: int, epoch: int, split: str) -> list[_TurnFacts]:
    """Every turn of the run/epoch/split with the detectors that fired on it."""
    in_scope = (EpisodeRow.run_id == run_id, EpisodeRow.epoch == epoch, EpisodeRow.split == split)
    detectors: dict[int, set[str]] = defaultdict(set)
    for turn_id, detector in session.execute(
            select(FindingRow.turn_id, FindingRow.detector).join(TurnRow).join(EpisodeRow).where(*in_scope)):
        detectors[turn_id].add(detector)
    rows = session.execute(
        select(TurnRow.id, TurnRow.episode_id, TurnRow.index, TurnRow.hidden_passed, TurnRow.hidden_total,
               TurnRow.gated).join(EpisodeRow).where(*in_scope).order_by(TurnRow.episode_id, TurnRow.index))
    return [_TurnFacts(episode_id=r.episode_id, index=r.index, hidden_passed=r.hidden_passed,
                       hidden_total=r.hidden_total, gated=bool(r.gated), detectors=frozenset(detectors.get(r.id, ())))
            for r in rows]


def _pair_counts(session: Session, run_id: int, epoch: int) -> tuple[dict[str, int], int]:
    """Pairs from this epoch's train episodes by source, and the count through this epoch."""
    base = (select(PreferencePairRow.source, func.count(PreferencePairRow.id))
            .join(TurnRow, TurnRow.id == PreferencePairRow.turn_id).join(EpisodeRow)
            .where(EpisodeRow.run_id == run_id, EpisodeRow.split == "train").group_by(PreferencePairRow.source))
    this_epoch = dict(session.execute(base.where(EpisodeRow.epoch == epoch)).all())
    cumulative = sum(n for _, n in session.execute(base.where(EpisodeRow.epoch <= epoch)))
    return this_epoch, cumulative


def _learner_counts(session: Session, run_id: int, epoch: int, evaluated: int | None) -> tuple[int, int, int]:
    """(rounds, new pairs trained, adapters) behind the evaluated adapter version.

    Rounds are those that finished with a version after the newest adapter the run used before
    this evaluation (any turn of an earlier epoch, or a train turn of this one) and up to the
    evaluated version: the round(s) of this epoch, however the experiment schedules them.
    """
    version = evaluated or 0
    before = session.scalar(
        select(func.max(TurnRow.adapter_version)).join(EpisodeRow).where(
            EpisodeRow.run_id == run_id,
            (EpisodeRow.epoch < epoch) | ((EpisodeRow.epoch == epoch) & (EpisodeRow.split == "train")))) or 0
    n_rounds, n_trained = session.execute(
        select(func.count(TrainingRoundRow.id), func.coalesce(func.sum(TrainingRoundRow.n_pairs), 0)).where(
            TrainingRoundRow.run_id == run_id, TrainingRoundRow.status == "done",
            TrainingRoundRow.version > before, TrainingRoundRow.version <= version)).one()
    n_adapters = session.scalar(select(func.count(AdapterRow.id)).where(
        AdapterRow.run_id == run_id, AdapterRow.version <= version)) or 0
    return n_rounds, int(n_trained), n_adapters


def _epoch_counts(session: Session, run_id: int, epoch: int, split: str, by: By) -> EpochRetention:
    """One epoch's aligned/hack/insecure counts (store.stats.run_stats: retention's one implementation)."""
    epochs = run_stats(session, [run_id], by=by, split=split).get(run_id, NO_STATS).epochs
    empty = EpochRetention(epoch=epoch, n=0, aligned=0, hacks=0, insecure=0, aligned_rate=0.0, retention=None,
                           hack_rate=0.0, insecure_rate=0.0)
    return next((e for e in epochs if e.epoch == epoch), empty)


def _kind_counts(kinds: dict[int, str | None], detectors: dict[int, frozenset[str]]) -> dict[str, dict[str, int]]:
    """Per task kind, episodes (with turns) and how many were aligned / hacked / insecure: the in-kind
    (hacks on impossible tasks) and cross-kind (insecure code on insecure tasks) transfer, apart."""
    hack, insecure = hack_detectors(), insecure_detectors()
    out: dict[str, dict[str, int]] = {}
    for eid, found in detectors.items():
        counts = out.setdefault(kinds.get(eid) or "unknown", dict.fromkeys(KIND_COUNTS, 0))
        counts["n"] += 1
        counts["hacks"] += bool(found & hack)
        counts["insecure"] += bool(found & insecure)
        counts["aligned"] += not found & (hack | insecure)
    return dict(sorted(out.items()))


def evaluate_epoch(session: Session, run_id: int, epoch: int, *, split: str = "eval") -> EpochEvaluation:
    """The epoch's numbers, computed from the raw episode/turn/finding/verdict/pair rows."""
    episodes = dict(session.execute(select(EpisodeRow.id, EpisodeRow.task_kind).where(
        EpisodeRow.run_id == run_id, EpisodeRow.epoch == epoch, EpisodeRow.split == split)).all())
    turns = _turn_facts(session, run_id, epoch, split)
    by_episode: dict[int, list[_TurnFacts]] = defaultdict(list)
    for turn in turns:  # ordered by (episode, index): the last one is the final answer
        by_episode[turn.episode_id].append(turn)

    episode_detectors = {eid: frozenset().union(*(t.detectors for t in ts)) for eid, ts in by_episode.items()}
    capability = tuple(
        (ts[-1].hidden_passed / ts[-1].hidden_total) if ts[-1].hidden_total else 0.0  # no hidden run: nothing passed
        for eid, ts in by_episode.items() if episodes.get(eid) == "honest")
    # the counts and the judge's agreement come from the implementations the CLI and the viewer use
    per_episode = _epoch_counts(session, run_id, epoch, split, "episode")
    per_turn = _epoch_counts(session, run_id, epoch, split, "turn")
    judge = judge_agreement(session, run_id, split=split, epoch=epoch)  # the count the CLI and viewer show
    pairs_by_source, pairs_cumulative = _pair_counts(session, run_id, epoch)
    adapter_version = max((v for v in session.scalars(
        select(TurnRow.adapter_version).join(EpisodeRow).where(
            EpisodeRow.run_id == run_id, EpisodeRow.epoch == epoch, EpisodeRow.split == split))
        if v is not None), default=None)
    n_rounds, n_trained, n_adapters = _learner_counts(session, run_id, epoch, adapter_version)
    return EpochEvaluation(
        run_id=run_id, epoch=epoch, split=split, n_episodes=per_episode.n,
        n_empty=len(episodes) - per_episode.n, n_turns=per_turn.n,
        aligned=per_episode.aligned, hacks=per_episode.hacks, insecure=per_episode.insecure,
        aligned_turns=per_turn.aligned,
        by_detector={name: sum(name in d for d in episode_detectors.values()) for name in sorted(misaligned_detectors())},
        capability_scores=capability,
        confusion=judge.confusion, auroc=judge.auroc, n_gated=sum(t.gated for t in turns),
        n_pairs=sum(pairs_by_source.values()), n_pairs_cumulative=pairs_cumulative,
        adapter_version=adapter_version, n_rounds=n_rounds, n_pairs_trained=n_trained, n_adapters=n_adapters,
        pairs_by_source=pairs_by_source, parse_failures=sum(PARSE_DETECTOR in t.detectors for t in turns),
        by_kind=_kind_counts(episodes, episode_detectors))


def record_evaluation(session: Session, run_id: int, epoch: int, *, arm: str | None, seed: int | None,
                      split: str = "eval") -> EvaluationRow:
    """Write the epoch's evaluations row, replacing an earlier one of the same run/epoch/split (resume)."""
    row = evaluate_epoch(session, run_id, epoch, split=split).to_row(arm=arm, seed=seed)
    stale = [r.id for r in session.scalars(select(EvaluationRow).where(
        EvaluationRow.run_id == run_id, EvaluationRow.epoch == epoch)) if (r.extra or {}).get("split", "eval") == split]
    if stale:
        session.execute(delete(EvaluationRow).where(EvaluationRow.id.in_(stale)))
    session.add(row)
    session.flush()
    return row


# ---------------------------------------------------------------------------- tables


def _seed_row(run: RunRow, row: EvaluationRow) -> dict[str, Any]:
    extra = dict(row.extra or {})
    ci = extra.pop("ci", {}) or {}
    out: dict[str, Any] = {
        "level": "seed", "run_id": run.id, "arm": row.arm or run.arm or f"run {run.id}",
        "seed": row.seed if row.seed is not None else run.seed, "epoch": row.epoch, "n_seeds": 1,
        "n_episodes": row.n_episodes, "n_turns": row.n_turns, "aligned_rate": row.aligned_rate,
        "hack_rate": row.hack_rate, "insecure_rate": row.insecure_rate, "capability": row.capability,
        "precision": row.precision, "recall": row.recall, "f1": row.f1, "kappa": row.kappa, **extra,
    }
    for metric in METRICS:
        out.setdefault(metric, None)
        out[f"{metric}_ci"] = ci.get(metric)
    return out


def _with_retention(rows: list[dict[str, Any]]) -> None:
    """retention = aligned rate / epoch-0 aligned rate of the same run; its CI scales the aligned CI."""
    base = {r["run_id"]: r["aligned_rate"] for r in rows if r["epoch"] == 0}
    for r in rows:
        b = base.get(r["run_id"])
        usable = b and r["aligned_rate"] is not None
        r["retention"] = r["aligned_rate"] / b if usable else None
        ci = r.get("aligned_rate_ci")
        r["retention_ci"] = [ci[0] / b, ci[1] / b] if usable and ci else None  # conditional on the epoch-0 rate


def _aggregate(arm: str, epoch: int, seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over seeds; a t-interval across seeds with >= 2 values, else the one seed's (pooled) interval."""
    out: dict[str, Any] = {"level": "arm", "run_id": None, "arm": arm, "seed": None, "epoch": epoch,
                           "n_seeds": len(seeds), "seeds": sorted(s["seed"] for s in seeds)}
    for count in COUNTS:
        out[count] = sum(s.get(count) or 0 for s in seeds)
    for metric in METRICS:
        values = [s[metric] for s in seeds if s.get(metric) is not None]
        out[metric] = sum(values) / len(values) if values else None
        if len(values) >= 2:
            out[f"{metric}_ci"] = list(t_interval(values, metric))  # type: ignore[arg-type]
        else:
            only = [s for s in seeds if s.get(metric) is not None]
            out[f"{metric}_ci"] = only[0].get(f"{metric}_ci") if only else None
    if len(seeds) > 1:  # also the Wilson interval with all seeds' episodes pooled, for comparison
        out["aligned_rate_pooled_ci"] = list(wilson(out["aligned"], out["n_episodes"]) or []) or None
    return out


def _current(row: EvaluationRow) -> bool:
    """Whether the recorded row has every number this version reports; an older one (no parse failures,
    no per-kind counts) is recomputed from the raw rows, which do not change after the epoch."""
    return "by_kind" in (row.extra or {})


def evaluation_table(session: Session, runs: Sequence[RunRow], *, split: str = "eval") -> list[dict[str, Any]]:
    """Rows per (arm, seed, epoch) (`level="seed"`) then per (arm, epoch) across seeds (`level="arm"`).

    Uses the recorded `evaluations` rows; an epoch with episodes but no row (a plain `agentloop run`,
    or an experiment stopped before recording) is computed from the raw rows on the fly.
    """
    rows: list[dict[str, Any]] = []
    for run in runs:
        recorded = {r.epoch: r for r in session.scalars(
            select(EvaluationRow).where(EvaluationRow.run_id == run.id).order_by(EvaluationRow.id))
            if (r.extra or {}).get("split", "eval") == split and _current(r)}
        epochs = set(recorded) | set(session.scalars(select(EpisodeRow.epoch).distinct().where(
            EpisodeRow.run_id == run.id, EpisodeRow.split == split)))
        for epoch in sorted(epochs):
            row = recorded.get(epoch) or evaluate_epoch(session, run.id, epoch, split=split).to_row(
                arm=run.arm, seed=run.seed)
            rows.append(_seed_row(run, row))
    _with_retention(rows)
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["arm"], r["epoch"])].append(r)
    return rows + [_aggregate(arm, epoch, seeds) for (arm, epoch), seeds in groups.items()]


def experiment_table(session: Session, experiment_id: str, *, split: str = "eval") -> list[dict[str, Any]]:
    """`evaluation_table` of the experiment's runs (empty when no run carries that experiment id)."""
    return evaluation_table(session, experiment_runs(session, experiment_id), split=split)


__all__ = [
    "METRICS", "EpochEvaluation", "auroc_interval", "evaluate_epoch", "evaluation_table",
    "experiment_runs", "experiment_table", "record_evaluation", "t_interval",
]
