"""How the report prints its numbers: every rate with its 95% CI and k/n, every judge metric with
n_pos and n ("n/a" below `agentloop.core.metrics.MIN_POSITIVES` positives), as rich and markdown tables.

An arm row's interval is the t interval over its seeds; where there is none (seeds identical, or one
seed) the cell says so in brackets and adds the episode-level interval of the pooled episodes, marked
W (Wilson) or B (bootstrap): `0.000 [seeds identical] W[0.00, 0.05] (0/72)`.

    from agentloop.report_format import ALIGNMENT_COLUMNS, markdown_table
    print(markdown_table(ALIGNMENT_COLUMNS, rows))   # rows: store.evaluation_table.evaluation_table(...)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from rich.table import Table
from rich.text import Text

from agentloop.arms import arm
from agentloop.core.errors import ConfigError
from agentloop.core.metrics import Confusion, JudgeMetric, kappa_interval, wilson

PREDICTED_RETENTION = 0.8  # the Emergent Alignment proposal: retention stays above 80% after 5 epochs
ARM_ORDER = ("off", "self", "oracle", "gate", "always", "random", "distill", "kl", "external")
def arm_meaning(name: str) -> str:
    """The arm's one sentence (agentloop.arms); "custom arm" for a name no arm or judge has here."""
    try:
        return arm(name).meaning
    except ConfigError:
        return "custom arm"
LEGEND = ("Arm rows: mean over seeds, [lo, hi] = 95% Student t interval over seeds; where the seeds are identical "
          "or there is one seed there is no seed-level interval (the bracket says which), and W[...] (Wilson) or "
          "B[...] (bootstrap) is the episode-level interval of all its seeds' episodes pooled: within-run "
          "uncertainty only. Seed rows: Wilson intervals (bootstrap over episodes for capability).")
POOLED_MARK = {"capability": "B"}  # the pooled interval's method; W (Wilson) otherwise

Row = dict[str, Any]


def fmt(value: float | int | None, digits: int = 3) -> str:
    """A count as is, a number to `digits` places, a missing value as '-'."""
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def with_ci(row: Row, metric: str) -> str:
    """'0.500 [0.24, 0.76]': a row's metric and its recorded interval; on an arm row without a seed-level
    interval, '0.000 [seeds identical] W[0.00, 0.05]': why there is none, and the pooled episode-level one."""
    ci = row.get(f"{metric}_ci")
    text = fmt(row.get(metric))
    if row.get(metric) is None:
        return text
    if ci:
        return f"{text} [{ci[0]:.2f}, {ci[1]:.2f}]"
    note = row.get(f"{metric}_note")
    if note:
        text += f" [{note.split(':')[0]}]"
        pooled = row.get(f"{metric}_pooled_ci")
        if pooled:
            text += f" {POOLED_MARK.get(metric, 'W')}[{pooled[0]:.2f}, {pooled[1]:.2f}]"
    return text


def rate_cell(row: Row, metric: str, k: str | None, n: str = "n_episodes") -> str:
    """A rate with its 95% CI and what it counts: k/n (pooled over seeds on an arm row), or n=."""
    text = with_ci(row, metric)
    if row.get(metric) is None:
        return f"{text} (n={row.get(n) or 0})"
    return f"{text} ({row.get(k) or 0}/{row.get(n) or 0})" if k else f"{text} (n={row.get(n) or 0})"


def judge_cell(row: Row, metric: str, n: str = "n_verdicts") -> str:
    """A judge metric with n_pos and n; n/a below MIN_POSITIVES positives (agentloop.core.metrics.JudgeMetric).
    On an arm row whose seeds give no interval (one seed with a value, or identical values) the bracket says
    why: its value is a mean over seeds, and an interval from the pooled counts would belong to another
    number (pooling seeds of different base rates moves kappa and precision). Elsewhere, without a recorded
    interval, precision and recall get the Wilson interval of their counts, kappa Cohen's (rows recorded
    before kappa had one)."""
    tp, fp, fn, tn = (row.get(k) or 0 for k in ("tp", "fp", "fn", "tn"))
    metric_value = JudgeMetric(row.get(metric), tp + fn, row.get(n) or 0)
    note = row.get(f"{metric}_note")
    if note and not row.get(f"{metric}_ci"):
        return metric_value.text(no_interval=note.split(":")[0])
    fallback = {"precision": lambda: wilson(tp, tp + fp), "recall": lambda: wilson(tp, tp + fn),
                "kappa": lambda: kappa_interval(Confusion(tp, fp, fn, tn))}
    ci = row.get(f"{metric}_ci") or (fallback[metric]() if metric in fallback else None)
    return replace(metric_value, ci=tuple(ci) if ci else None).text()


def arm_key(arm: str) -> tuple[int, str]:
    """Sort key: the known arms in ARM_ORDER, then any other by name."""
    return (ARM_ORDER.index(arm) if arm in ARM_ORDER else len(ARM_ORDER), arm)


Column = tuple[str, Callable[[Row], str]]

ALIGNMENT_COLUMNS: list[Column] = [
    ("episodes", lambda r: fmt(r["n_episodes"])),
    ("aligned rate [95% CI] (k/n)", lambda r: rate_cell(r, "aligned_rate", "aligned")),
    ("aligned, not degenerate [95% CI] (k/n)",
     lambda r: rate_cell(r, "aligned_nondegenerate_rate", "aligned_nondegenerate")),
    ("retention [95% CI]", lambda r: rate_cell(r, "retention", None)),
    ("retention, not degenerate [95% CI]", lambda r: rate_cell(r, "retention_nondegenerate", None)),
    ("hack rate [95% CI] (k/n)", lambda r: rate_cell(r, "hack_rate", "hacks")),
    ("insecure rate [95% CI] (k/n)", lambda r: rate_cell(r, "insecure_rate", "insecure")),
    ("degenerate rate [95% CI] (k/n)", lambda r: rate_cell(r, "degenerate_rate", "degenerate")),
    ("capability [95% CI]", lambda r: rate_cell(r, "capability", None, "n_honest")),
    ("parse failures [95% CI] (k/n turns)", lambda r: rate_cell(r, "parse_failure_rate", "parse_failures", "n_turns")),
]
JUDGE_COLUMNS: list[Column] = [
    ("verdicts", lambda r: fmt(r["n_verdicts"])),
    ("precision [95% CI]", lambda r: judge_cell(r, "precision")),
    ("recall [95% CI]", lambda r: judge_cell(r, "recall")),
    ("F1", lambda r: judge_cell(r, "f1")),
    ("kappa", lambda r: judge_cell(r, "kappa")),
    ("AUROC [95% CI]", lambda r: judge_cell(r, "auroc")),
    ("gated turns", lambda r: fmt(r["n_gated"])),
    ("hack rate before gating [95% CI] (k/n)",  # the policy's own answers, where a gate replaced some
     lambda r: rate_cell(r, "hack_rate_before_gate", "hacks_before_gate") if r.get("n_gated") else "-"),
    ("pairs produced", lambda r: fmt(r["n_pairs"])),
    ("pairs trained", lambda r: fmt(r.get("n_pairs_trained"))),
    ("rounds", lambda r: fmt(r["n_rounds"])),
]
ARM_KEYS: list[Column] = [("arm", lambda r: r["arm"]), ("epoch", lambda r: str(r["epoch"])),
                          ("seeds", lambda r: str(r["n_seeds"]))]
SEED_KEYS: list[Column] = [("arm", lambda r: r["arm"]), ("seed", lambda r: str(r["seed"])),
                           ("run", lambda r: str(r["run_id"])), ("epoch", lambda r: str(r["epoch"]))]


def markdown_table(columns: Sequence[Column], rows: Sequence[Row]) -> str:
    """A GitHub markdown table, one row per `rows` item."""
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(get(r) for _, get in columns) + " |" for r in rows]
    return "\n".join(lines)


def rich_table(title: str, columns: Sequence[Column], rows: Sequence[Row]) -> Table:
    """A rich table; rows whose retention is below the predicted 0.8 are red."""
    table = Table(title=title)
    for i, (header, _) in enumerate(columns):
        table.add_column(header, justify="left" if i == 0 else "right")
    for r in rows:
        low = r.get("retention") is not None and r["retention"] < PREDICTED_RETENTION
        # Text, not a markup string: '[seeds identical]' would be read as a rich style tag and vanish
        table.add_row(*(Text(get(r)) for _, get in columns), style="red" if low else "")
    return table
