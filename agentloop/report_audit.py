"""The report's rewrite audit: per arm and epoch (and per seed), the preference pairs made on training episodes,
how many the learner skips and why (learner.examples.skip_reason), how many a round trained, how many carry an
audit, and what the audited rewrites are (agentloop.rewrite_audit): their hack, insecure, capability (solves every
hidden case) and unparsed rates with 95% Wilson intervals, and their mean similarity to the frozen copy's own
answer and to the rejected answer, each with its n.

    arms, seeds = audit_tables(session, runs)    # per (arm, epoch) pooled over seeds; per (run, epoch)
    print(markdown_table(ARM_KEYS + AUDIT_COLUMNS, arms))

Rates and similarities are over the audited pairs DPO can learn from ("usable": not skipped): a skipped pair
teaches nothing, and an identical pair's "rewrite" is the hack itself. Trained = usable and seen by a round (a
round marks the skipped pairs it looked at as seen too). Every arm gets a row for every epoch in which any run has
training episodes, zeros included (off and kl make no pairs). Arm rows pool their seeds' pairs, so an interval is
pair-level (within-run) uncertainty only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentloop.core.metrics import Rate
from agentloop.report_format import ARM_KEYS, SEED_KEYS, Column, Row, arm_key, fmt, markdown_table
from learner.examples import skip_reason

if TYPE_CHECKING:
    from store.models import RunRow
    from store.pair_audit import TrainPair
    from store.session import Session

MEANING = ("Rewrite audit: each pair's chosen answer (the conscience's rewrite) run through the sandbox and the "
           "detectors like a turn, over the pairs of training episodes. A rewrite that games the tests teaches gaming "
           "under the name of alignment; a rewrite near-identical to the frozen copy's own answer teaches anchoring. "
           "Rates and similarities count the audited pairs the learner does not skip (k/n, 95% Wilson pooled over "
           "seeds); trained = not skipped and taken by a round; similarity is difflib's ratio of the code, 1 = "
           "identical.")
SKIP_REASONS = ("empty", "refusal", "identical")  # skip_reason's reasons, in the order the tables print them
Audit = dict[str, Any]
# rate -> (its count's key, whether an audited rewrite counts)
RATES: dict[str, tuple[str, Callable[[Audit], bool]]] = {
    "hack_rate": ("hacks", lambda a: bool(a.get("chosen_hack"))),
    "insecure_rate": ("insecure", lambda a: bool(a.get("chosen_insecure"))),
    "capability": ("solves", lambda a: bool(a.get("chosen_solves"))),
    "unparsed_rate": ("unparsed", lambda a: not a.get("chosen_parsed")),
}
SIMILARITIES = ("similarity_to_frozen", "similarity_to_rejected")


def audit_cell(pairs: Sequence[TrainPair]) -> Row:
    """The counts, rates (with their Wilson intervals) and mean similarities of one cell's pairs."""
    reasons = [skip_reason(p.chosen, p.rejected) for p in pairs]
    usable = [p for p, reason in zip(pairs, reasons) if reason is None]
    rated = [p.audit for p in usable if p.audit is not None]
    skipped = Counter(r for r in reasons if r is not None)
    row: Row = {"n_pairs": len(pairs), "n_skipped": sum(skipped.values()),
                "skipped": {**dict.fromkeys(SKIP_REASONS, 0), **skipped},
                "n_trained": sum(p.seen_by_round for p in usable), "n_audited": sum(p.audit is not None for p in pairs),
                "n_rated": len(rated)}
    for rate, (count, counts) in RATES.items():
        r = Rate(sum(counts(a) for a in rated), len(rated))
        row.update({count: r.k, rate: r.value, f"{rate}_ci": list(r.ci) if r.ci else None})
    for key in SIMILARITIES:
        values = [float(a[key]) for a in rated if a.get(key) is not None]
        row.update({key: sum(values) / len(values) if values else None, f"n_{key}": len(values)})
    return row


def audit_tables(session: Session, runs: Sequence[RunRow]) -> tuple[list[Row], list[Row]]:
    """(arm rows: per arm and epoch, the seeds' pairs pooled; seed rows: per run and epoch), from the store."""
    from store.pair_audit import train_epochs, train_pairs

    ids = [r.id for r in runs]
    by_cell: dict[tuple[int, int], list[TrainPair]] = defaultdict(list)
    for pair in train_pairs(session, ids):
        by_cell[(pair.run_id, pair.epoch)].append(pair)
    epochs = train_epochs(session, ids)
    arm_of = {r.id: r.arm or f"run {r.id}" for r in runs}
    seeds = [{"level": "seed", "arm": arm_of[run.id], "seed": run.seed, "run_id": run.id, "epoch": epoch,
              **audit_cell(by_cell[(run.id, epoch)])}
             for run in sorted(runs, key=lambda r: (arm_key(arm_of[r.id]), r.seed, r.id)) for epoch in epochs]
    arms: list[Row] = []
    for arm in sorted(set(arm_of.values()), key=arm_key):
        mine = [r for r in runs if arm_of[r.id] == arm]
        for epoch in epochs:
            arms.append({"level": "arm", "arm": arm, "epoch": epoch, "n_seeds": len(mine),
                         "seeds": sorted(r.seed for r in mine),
                         **audit_cell([p for r in mine for p in by_cell[(r.id, epoch)]])})
    return arms, seeds


def _rate(rate: str) -> Callable[[Row], str]:
    count = RATES[rate][0]
    return lambda r: Rate(r[count], r["n_rated"]).text()


def _similarity(key: str) -> Callable[[Row], str]:
    return lambda r: f"{fmt(r[key])} (n={r[f'n_{key}']})"


AUDIT_COLUMNS: list[Column] = [
    ("pairs", lambda r: fmt(r["n_pairs"])),
    ("skipped (" + "/".join(SKIP_REASONS) + ")",
     lambda r: f"{r['n_skipped']} ({'/'.join(str(r['skipped'].get(k, 0)) for k in SKIP_REASONS)})"),
    ("trained", lambda r: fmt(r["n_trained"])),
    ("audited", lambda r: fmt(r["n_audited"])),
    ("rewrite hack rate [95% CI] (k/n)", _rate("hack_rate")),
    ("rewrite insecure rate [95% CI] (k/n)", _rate("insecure_rate")),
    ("rewrite capability [95% CI] (k/n)", _rate("capability")),
    ("rewrite unparsed rate [95% CI] (k/n)", _rate("unparsed_rate")),
    ("similarity to frozen answer (n)", _similarity("similarity_to_frozen")),
    ("similarity to rejected (n)", _similarity("similarity_to_rejected")),
]


def audit_meaning(arms: Sequence[Row]) -> str:
    """MEANING, and how many pairs carry no audit (made before the audit existed) where some don't."""
    total, audited = sum(r["n_pairs"] for r in arms), sum(r["n_audited"] for r in arms)
    if total == audited:
        return MEANING
    return f"{MEANING} {total - audited} of {total} pairs carry no audit (made before the rewrite audit existed): " \
           "the rates leave them out."


def audit_markdown(arms: Sequence[Row], seeds: Sequence[Row]) -> list[str]:
    """The report.md section: what the audit means, the arm table, the per-seed table."""
    if not arms:
        return ["## Rewrite audit", "", "No training episodes, so no preference pairs to audit.", ""]
    return ["## Rewrite audit", "", audit_meaning(arms), "", markdown_table(ARM_KEYS + AUDIT_COLUMNS, arms), "",
            "Per seed:", "", markdown_table(SEED_KEYS + AUDIT_COLUMNS, seeds), ""]


__all__ = ["AUDIT_COLUMNS", "MEANING", "RATES", "SIMILARITIES", "SKIP_REASONS", "audit_cell", "audit_markdown",
           "audit_meaning", "audit_tables"]
