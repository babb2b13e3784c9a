"""What the conscience adds, at the level of training runs: per-seed paired differences between arms.

    diffs = seed_differences(report.rows)     # every contrast x shared epoch x metric, level "seed"
    lines = contrast_sentences(diffs)         # one sentence per contrast, at its last shared epoch

A contrast is arm minus reference over the seeds both arms ran (the same seed: the same task order and
data, so the pair differs by the arm alone); a seed in one arm only is dropped and counted. Each
difference has its mean, a 95% t interval over the paired seeds and an exact sign-flip permutation p
(agentloop.core.seed_stats). The rule the sentences follow: a difference is distinguishable when that t
interval excludes 0; otherwise, or with no interval (one paired seed, or identical differences), the
sentence says "not distinguishable", with the sign-flip p beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from agentloop.report_format import Column, Row, arm_key, fmt
from agentloop.core.seed_stats import paired_difference

BASELINE = "off"
EPOCH0 = "epoch 0"
SELF_VERSUS = ("always", "random", "distill", "kl")  # what the self-judge's pairs are compared with
# the per-seed numbers compared; names as in the report's rows
DIFF_METRICS = ("hack_rate", "degenerate_rate", "capability", "aligned_rate", "aligned_nondegenerate_rate")
METRIC_NAMES = {"hack_rate": "hack rate", "degenerate_rate": "degenerate rate", "capability": "capability",
                "aligned_rate": "aligned rate", "aligned_nondegenerate_rate": "aligned and not degenerate",
                "cheating_rate": "cheating rate"}
METHOD = ("seed level: per seed, the arm's number minus the reference's at the same seed and epoch (seeds in one "
          "arm only are dropped and counted); mean over the paired seeds with a 95% Student t interval, and an exact "
          "two-sided sign-flip permutation p over all 2^n sign assignments (its floor is 2/2^n); distinguishable "
          "when the t interval excludes 0")


def contrasts(arms: Sequence[str]) -> list[tuple[str, str]]:
    """(arm, reference) pairs that matter, where both arms ran: each arm vs off; self vs always, random,
    distill and kl; oracle vs self."""
    present = set(arms)
    out = [(a, BASELINE) for a in sorted(present, key=arm_key) if a != BASELINE and BASELINE in present]
    if "self" in present:
        out += [("self", other) for other in SELF_VERSUS if other in present]
    if {"oracle", "self"} <= present:
        out.append(("oracle", "self"))
    return out


def _values(rows: Sequence[Row], metric: str) -> dict[int, float | None]:
    return {r["seed"]: r.get(metric) for r in rows}


def _difference(arm: str, versus: str, epoch: int, metric: str, rows: Sequence[Row], reference: Sequence[Row],
                final: bool) -> Row:
    arm_values, ref_values = _values(rows, metric), _values(reference, metric)
    d = paired_difference(arm_values, ref_values)
    if d.distinguishable:
        reads = f"{'higher' if d.mean > 0 else 'lower'} than {versus}"  # type: ignore[operator]
    else:
        reads = f"not distinguishable from {versus}"
    return {"level": "seed", "arm": arm, "versus": versus, "epoch": epoch, "metric": metric, "final": final,
            "per_seed": d.per_seed, "mean": d.mean, "ci": list(d.ci) if d.ci else None, "note": d.note,
            "p_sign_flip": d.p_sign_flip, "n_seeds": d.n_seeds, "dropped_seeds": d.dropped,
            "n_dropped": d.n_dropped, "distinguishable": d.distinguishable, "reads": reads,
            "arm_per_seed": {s: arm_values[s] for s in d.per_seed},
            "versus_per_seed": {s: ref_values[s] for s in d.per_seed}}


def seed_differences(seed_rows: Sequence[Row], metrics: Sequence[str] = DIFF_METRICS) -> list[Row]:
    """Every contrast at every epoch both arms have (`final` marks the last), and each arm's last epoch
    minus its epoch 0 (versus "epoch 0", paired within each run), for every metric in `metrics` (rows with
    `arm`, `seed`, `epoch` and the metrics; a metric that is None at a seed drops that seed)."""
    cells: dict[str, dict[int, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in seed_rows:
        cells[row["arm"]][row["epoch"]].append(row)
    out: list[Row] = []
    for arm, versus in contrasts(list(cells)):
        shared = sorted(set(cells[arm]) & set(cells[versus]))
        for epoch in shared:
            out += [_difference(arm, versus, epoch, m, cells[arm][epoch], cells[versus][epoch], epoch == shared[-1])
                    for m in metrics]
    for arm in sorted(cells, key=arm_key):
        last = max(cells[arm])
        if last > 0 and 0 in cells[arm]:
            out += [_difference(arm, EPOCH0, last, m, cells[arm][last], cells[arm][0], True) for m in metrics]
    return out


# ---------------------------------------------------------------------------- printing


def interval_text(d: Row) -> str:
    """'+0.250 [+0.010, +0.490]', or the mean and why there is no interval."""
    if d["mean"] is None:
        return f"- ({d['note']})"
    if d["ci"] is None:
        return f"{d['mean']:+.3f} ({d['note']})"
    return f"{d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]"


def p_text(d: Row) -> str:
    return "-" if d["p_sign_flip"] is None else f"{d['p_sign_flip']:.3f}"


def _per_seed_text(d: Row) -> str:
    return ", ".join(f"{seed}: {value:+.3f}" for seed, value in sorted(d["per_seed"].items())) or "-"


def _seeds_text(d: Row) -> str:
    dropped = d["n_dropped"]
    return f"{d['n_seeds']}" + (f" ({dropped} dropped)" if dropped else "")


SEED_DIFF_COLUMNS: list[Column] = [
    ("arm", lambda d: d["arm"]), ("minus", lambda d: d["versus"]), ("epoch", lambda d: str(d["epoch"])),
    ("metric", lambda d: METRIC_NAMES.get(d["metric"], d["metric"])),
    ("paired seeds", _seeds_text), ("per seed (arm - reference)", _per_seed_text),
    ("mean [95% t CI over seeds]", interval_text), ("sign-flip p", p_text), ("reads", lambda d: d["reads"]),
]


def _clause(d: Row) -> str:
    return f"{METRIC_NAMES.get(d['metric'], d['metric'])} {interval_text(d)}, sign-flip p = {p_text(d)}: {d['reads']}"


def contrast_sentences(diffs: Sequence[Row]) -> list[str]:
    """One sentence per contrast at its last shared epoch, a clause per metric, read by the t rule."""
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for d in diffs:
        if d["final"]:
            groups[(d["arm"], d["versus"])].append(d)
    lines = []
    for (arm, versus), rows in groups.items():
        first = rows[0]
        dropped = first["dropped_seeds"]
        left_out = "; ".join(f"{len(seeds)} {name.replace('_', ' ')}" for name, seeds in dropped.items() if seeds)
        seeds = f"{first['n_seeds']} paired seed(s)" + (f", dropped: {left_out}" if left_out else "")
        head = (f"{arm}, epoch {first['epoch']} minus epoch 0" if versus == EPOCH0
                else f"{arm} minus {versus} at epoch {first['epoch']}")
        lines.append(f"{head} ({seeds}): " + "; ".join(_clause(d) for d in rows) + ".")
    return lines


def final_differences(diffs: Sequence[Row]) -> list[Row]:
    """The headline rows: each contrast at its last shared epoch."""
    return [d for d in diffs if d["final"]]


def seed_difference_sentence(n_seeds: int) -> str:
    """What the seed count allows: the smallest sign-flip p with n paired seeds."""
    floor = 2 / 2 ** n_seeds if n_seeds else 1.0
    return (f"With {n_seeds} paired seed(s) the smallest possible sign-flip p is {fmt(floor)}"
            + (" (below 0.05 needs at least 6 seeds)." if floor >= 0.05 else "."))


__all__ = ["BASELINE", "DIFF_METRICS", "EPOCH0", "METHOD", "SEED_DIFF_COLUMNS", "contrast_sentences", "contrasts",
           "final_differences", "interval_text", "seed_difference_sentence", "seed_differences"]
