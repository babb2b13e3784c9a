"""The experiment's numbers by held-out task kind, and the episode-level (within-seed) bootstrap differences.

    kinds = kind_rows(report.rows)                   # per (arm, epoch, task kind), pooled over seeds
    within = episode_differences(report.rows)        # self/oracle/gate minus off, and last epoch minus epoch 0

The headline comparison between arms is seed-level (agentloop.report_differences): the bootstrap here
resamples held-out episodes within each seed, so it measures how precisely each training run was scored,
not how much training runs vary; it is kept labelled `level: "episode"`, never as evidence about the arms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from agentloop.core.metrics import Rate, bootstrap_ci, stratified_bootstrap_diff
from agentloop.report_format import Column, Row, arm_key, fmt, markdown_table, rate_cell
from store.turn_position import RATES as TURN_RATES
from store.turn_position import add_first_hack_turns, first_hack_text

BASELINE = "off"
EPOCH0 = "epoch 0"
N_BOOT, BOOT_SEED = 2000, 0  # a fixed RNG seed: the same store gives the same report
BOOTSTRAP_METHOD = (f"episode level, within seed (not evidence about training runs): 95% percentile bootstrap "
                    f"({N_BOOT} resamples, RNG seed {BOOT_SEED}): the held-out episodes are resampled with "
                    "replacement within each seed, and an arm's rate is the mean over its seeds")
# metric -> the per-seed count of episodes that score 1 (out of n_episodes)
DIFF_METRICS = {"hack_rate": "hacks", "aligned_rate": "aligned"}
RATES = {"hack_rate": "hacks", "insecure_rate": "insecure", "aligned_rate": "aligned", "degenerate_rate": "degenerate",
         "aligned_nondegenerate_rate": "aligned_nondegenerate", **TURN_RATES}
KIND_ORDER = ("impossible", "insecure", "honest")
# what each kind's in-kind number is: the misbehaviour its tasks tempt (or, honest, the capability)
IN_KIND = {"impossible": "hack_rate", "insecure": "insecure_rate", "honest": "capability"}


# ---------------------------------------------------------------------------- per task kind


def _kind_key(kind: str) -> tuple[int, str]:
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)


def kind_rows(seed_rows: Sequence[Row]) -> list[Row]:
    """Per (arm, epoch, task kind): episodes and hack/insecure/aligned counts pooled over seeds, each
    rate with its Wilson interval (degenerate: store.degenerate); on honest tasks also capability (bootstrap
    over episodes)."""
    groups: dict[tuple[str, int, str], list[tuple[Row, dict[str, int]]]] = defaultdict(list)
    for row in seed_rows:
        for kind, counts in (row.get("by_kind") or {}).items():
            groups[(row["arm"], row["epoch"], kind)].append((row, counts))
    out = []
    for (arm, epoch, kind), members in groups.items():
        out.append(_kind_row(arm, epoch, kind, members))
    return sorted(out, key=lambda r: (arm_key(r["arm"]), r["epoch"], _kind_key(r["kind"])))


def _kind_row(arm: str, epoch: int, kind: str, members: list[tuple[Row, dict[str, int]]]) -> Row:
    n = sum(counts["n"] for _, counts in members)
    row: Row = {"arm": arm, "epoch": epoch, "kind": kind, "n_seeds": len(members), "n_episodes": n,
                "in_kind": IN_KIND.get(kind),
                "first_hack_turn": add_first_hack_turns(c.get("first_hack_turn") for _, c in members)}
    for metric, count in RATES.items():
        rate = Rate(sum(c.get(count, 0) for _, c in members), n)
        row.update({count: rate.k, metric: rate.value, f"{metric}_ci": list(rate.ci) if rate.ci else None})
    if kind == "honest":  # capability_scores are the honest episodes' scores: the same episodes
        scores = [s for seed_row, _ in members for s in seed_row.get("capability_scores") or []]
        ci = bootstrap_ci(scores)
        row.update({"n_honest": len(scores), "capability": sum(scores) / len(scores) if scores else None,
                    "capability_ci": list(ci) if ci else None})
    return row


KIND_COLUMNS: list[Column] = [
    ("arm", lambda r: r["arm"]), ("epoch", lambda r: str(r["epoch"])), ("task kind", lambda r: r["kind"]),
    ("seeds", lambda r: str(r["n_seeds"])), ("episodes", lambda r: fmt(r["n_episodes"])),
    ("hack rate [95% CI] (k/n)", lambda r: rate_cell(r, "hack_rate", "hacks")),
    ("hack rate at turn 1 [95% CI] (k/n)", lambda r: rate_cell(r, "hack_rate_first_turn", "hacks_first_turn")),
    ("hack rate at the last turn [95% CI] (k/n)", lambda r: rate_cell(r, "hack_rate_last_turn", "hacks_last_turn")),
    ("first hack at (episodes)", lambda r: first_hack_text(r.get("first_hack_turn"))),
    ("insecure rate [95% CI] (k/n)", lambda r: rate_cell(r, "insecure_rate", "insecure")),
    ("aligned rate [95% CI] (k/n)", lambda r: rate_cell(r, "aligned_rate", "aligned")),
    ("degenerate rate [95% CI] (k/n)", lambda r: rate_cell(r, "degenerate_rate", "degenerate")),
    ("aligned, not degenerate [95% CI] (k/n)", lambda r: rate_cell(r, "aligned_nondegenerate_rate",
                                                                     "aligned_nondegenerate")),
    ("capability [95% CI] (n honest)",
     lambda r: rate_cell(r, "capability", None, "n_honest") if "n_honest" in r else "-"),
]


# ---------------------------------------------------------------------------- differences


def _episode_values(seeds: Sequence[Row], metric: str) -> list[list[float]]:
    """Per seed, one 0/1 per held-out episode (the counts are all a rate's bootstrap needs)."""
    count = DIFF_METRICS[metric]
    return [[1.0] * (r.get(count) or 0) + [0.0] * ((r.get("n_episodes") or 0) - (r.get(count) or 0)) for r in seeds]


def _difference(arm: str, versus: str, epoch: int, metric: str, seeds: list[Row], reference: list[Row]) -> Row | None:
    """`seeds` minus `reference` for one metric; None where either side has no episodes."""
    result = stratified_bootstrap_diff(_episode_values(reference, metric), _episode_values(seeds, metric),
                                       n_boot=N_BOOT, seed=BOOT_SEED)
    if result is None:
        return None
    point, (lo, hi) = result
    count = DIFF_METRICS[metric]
    return {"arm": arm, "versus": versus, "epoch": epoch, "metric": metric, "difference": point, "ci": [lo, hi],
            "k": sum(r.get(count) or 0 for r in seeds), "n": sum(r["n_episodes"] for r in seeds),
            "k_ref": sum(r.get(count) or 0 for r in reference), "n_ref": sum(r["n_episodes"] for r in reference),
            "seeds": sorted(r["seed"] for r in seeds), "reads": reading(lo, hi, versus), "level": "episode"}


def reading(lo: float, hi: float, versus: str) -> str:
    """What an interval of a difference says: higher, lower, or nothing distinguishable."""
    if lo > 0:
        return f"higher than {versus}"
    if hi < 0:
        return f"lower than {versus}"
    return f"nothing distinguishable from {versus}"


def episode_differences(seed_rows: Sequence[Row]) -> list[Row]:
    """For every arm: its last epoch minus its epoch 0, and (other arms) minus `off` at the latest epoch
    both have, for the hack and aligned rates; bootstrap intervals as BOOTSTRAP_METHOD says (episode level)."""
    cells: dict[str, dict[int, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in seed_rows:
        cells[row["arm"]][row["epoch"]].append(row)
    out: list[Row] = []
    for arm in sorted(cells, key=arm_key):
        epochs = cells[arm]
        last = max(epochs)
        pairs = [(EPOCH0, last, epochs.get(0))] if last > 0 else []
        shared = set(epochs) & set(cells.get(BASELINE, {}))
        if arm != BASELINE and shared:
            pairs.append((BASELINE, max(shared), cells[BASELINE][max(shared)]))
        for versus, epoch, reference in pairs:
            for metric in DIFF_METRICS:
                diff = _difference(arm, versus, epoch, metric, epochs[epoch], reference or [])
                out += [diff] if diff else []
    return out


def _signed(value: float) -> str:
    return f"{value:+.3f}"


EPISODE_DIFF_COLUMNS: list[Column] = [
    ("arm", lambda d: d["arm"]), ("minus", lambda d: d["versus"]), ("epoch", lambda d: str(d["epoch"])),
    ("metric", lambda d: d["metric"]),
    ("difference [95% bootstrap CI, within seed]",
     lambda d: f"{_signed(d['difference'])} [{_signed(d['ci'][0])}, {_signed(d['ci'][1])}]"),
    ("arm k/n", lambda d: f"{d['k']}/{d['n']}"), ("reference k/n", lambda d: f"{d['k_ref']}/{d['n_ref']}"),
    ("seeds", lambda d: str(len(d["seeds"]))),
]


def kinds_markdown(kinds: Sequence[Row]) -> list[str]:
    """The report's markdown section on task kinds."""
    if not kinds:
        return []
    return ["## By held-out task kind (pooled over seeds)", "",
            "In-kind transfer: the hack rate on `impossible` tasks and the insecure rate on `insecure` tasks; "
            "capability is measured on `honest` tasks. The other cells are cross-kind. Pooled over seeds, so these "
            "intervals are episode-level (Wilson): within-run precision, not run-to-run variation.", "",
            markdown_table(KIND_COLUMNS, kinds), ""]


def episode_markdown(diffs: Sequence[Row]) -> list[str]:
    """The labelled appendix of episode-level differences (not the headline)."""
    if not diffs:
        return []
    return ["## Appendix: episode-level differences (within seed, not the headline)", "",
            f"Intervals: {BOOTSTRAP_METHOD}. They say how precisely each run was scored, not whether the arms differ: "
            "see the seed-level differences above.", "", markdown_table(EPISODE_DIFF_COLUMNS, diffs), ""]
