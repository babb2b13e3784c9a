"""The experiment table: one row per (arm, seed, epoch) from the recorded evaluations, then one per (arm, epoch)
with the mean over seeds and a 95% t interval over seeds (agentloop.core.seed_stats).

    with store.session(readonly=True) as s:
        rows = experiment_table(s, "exp-2026-01-02")   # level "seed" rows, then level "arm" rows

An arm row never carries a zero-width interval: where its seeds agree, or it has one seed, `<metric>_ci`
is None and `<metric>_note` says why; `<metric>_pooled_ci` is then the episode-level interval of all its
seeds' episodes pooled (Wilson for rates, bootstrap for capability): within-run uncertainty only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentloop.core.metrics import bootstrap_ci, wilson
from agentloop.core.seed_stats import seed_summary
from store.evaluation import COUNTS, METRICS, evaluate_epoch
from store.experiments import experiment_runs
from store.models import EpisodeRow, EvaluationRow, RunRow
from store.turn_position import RATES as TURN_RATES
from store.turn_position import add_first_hack_turns

# rate -> (its count, its n): what a pooled Wilson interval needs
RATE_COUNTS = {"aligned_rate": ("aligned", "n_episodes"), "hack_rate": ("hacks", "n_episodes"),
               "insecure_rate": ("insecure", "n_episodes"), "degenerate_rate": ("degenerate", "n_episodes"),
               "unparsed_rate": ("unparsed", "n_episodes"),
               "aligned_nondegenerate_rate": ("aligned_nondegenerate", "n_episodes"),
               "parse_failure_rate": ("parse_failures", "n_turns"),
               "hack_rate_before_gate": ("hacks_before_gate", "n_episodes"),
               **{rate: (count, "n_episodes") for rate, count in TURN_RATES.items()}}
# retention is each aligned rate over the same run's epoch-0 rate
RETENTION = {"retention": "aligned_rate", "retention_nondegenerate": "aligned_nondegenerate_rate"}


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
    """retention = aligned rate / epoch-0 aligned rate of the same run (and the same for aligned and not
    degenerate); its CI scales the rate's Wilson CI, conditional on the epoch-0 rate."""
    for metric, rate in RETENTION.items():
        base = {r["run_id"]: r.get(rate) for r in rows if r["epoch"] == 0}
        for r in rows:
            b = base.get(r["run_id"])
            usable = bool(b) and r.get(rate) is not None
            r[metric] = r[rate] / b if usable else None
            ci = r.get(f"{rate}_ci")
            r[f"{metric}_ci"] = [ci[0] / b, ci[1] / b] if usable and ci else None


def _pooled_ci(metric: str, out: dict[str, Any], seeds: list[dict[str, Any]]) -> list[float] | None:
    """The episode-level interval of the seeds' episodes pooled, where one is defined."""
    if metric in RATE_COUNTS:
        k, n = RATE_COUNTS[metric]
        ci = wilson(out[k], out[n])
    elif metric == "capability":
        ci = bootstrap_ci([x for s in seeds for x in s.get("capability_scores") or []])
    else:
        return None
    return list(ci) if ci else None


def _aggregate(arm: str, epoch: int, seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over seeds with a 95% t interval over seeds; None and a note where seeds agree or there is one."""
    out: dict[str, Any] = {"level": "arm", "run_id": None, "arm": arm, "seed": None, "epoch": epoch,
                           "n_seeds": len(seeds), "seeds": sorted(s["seed"] for s in seeds)}
    for count in COUNTS:
        out[count] = sum(s.get(count) or 0 for s in seeds)
    out["first_hack_turn"] = add_first_hack_turns(s.get("first_hack_turn") for s in seeds)
    for metric in METRICS:
        summary = seed_summary([s[metric] for s in seeds if s.get(metric) is not None], metric)
        out[metric] = summary.mean
        out[f"{metric}_ci"] = list(summary.ci) if summary.ci else None
        out[f"{metric}_note"] = summary.note if summary.mean is not None else None
        out[f"{metric}_pooled_ci"] = _pooled_ci(metric, out, seeds)
    return out


def _current(row: EvaluationRow) -> bool:
    """Whether the recorded row has every number this version reports; an older one (no parse failures,
    per-kind counts, degenerate answers, hacks by turn or final answers passing their tests) is recomputed from the
    raw rows, which do not change after the epoch."""
    extra = row.extra or {}
    kinds = extra.get("by_kind")
    return "hacks_last_turn" in extra and kinds is not None and all("passes_visible" in c for c in kinds.values())


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


__all__ = ["RATE_COUNTS", "evaluation_table", "experiment_table"]
