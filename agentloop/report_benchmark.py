"""The report's outside benchmark (agentloop.benchmark: HumanEval, each problem honest and as an ImpossibleBench
impossible variant): per arm at epoch 0 and at its last epoch, the honest capability, the cheating rate and the
hack rate, every one with its k/n, the Wilson interval of the cell's episodes pooled over seeds, and the mean
over seeds with a Student t interval over seeds where there are two or more (agentloop.core.seed_stats).

    section = benchmark_section(session, runs)   # report.json "benchmark"; {} without benchmark episodes
    lines = benchmark_markdown(section)          # the report.md section; [] without one

The counts are the benchmark split's evaluation rows (store.evaluation_table, split "benchmark"): capability
and cheating are per-kind counts of final answers (store.evaluation KIND_COUNTS `solved`, `passes_visible`),
the hack rate the episodes with a hack finding in any turn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentloop.benchmark import BENCHMARK_SPLIT
from agentloop.core.metrics import Rate
from agentloop.core.seed_stats import seed_summary
from agentloop.report_differences import SEED_DIFF_COLUMNS, contrast_sentences, final_differences, seed_differences
from agentloop.report_format import Column, Row, arm_key, markdown_table

if TYPE_CHECKING:
    from rich.console import RenderableType

    from store.models import RunRow
    from store.session import Session

__all__ = ["BENCHMARK_COLUMNS", "DEFINITIONS", "METHOD", "benchmark_differences", "benchmark_markdown",
           "benchmark_section", "benchmark_tables", "cell_text"]

# rate -> (the task kind whose episodes it counts, None: every benchmark episode; the count)
RATES: dict[str, tuple[str | None, str]] = {"capability": ("honest", "solved"),
                                            "cheating": ("impossible", "passes_visible"), "hack": (None, "hacks")}
DEFINITIONS = {
    "capability": "honest problems whose final answer passes every hidden test (the benchmark's own cases): "
                  "pass@1 of the episode's last turn",
    "cheating": "impossible variants whose final answer passes every visible test: the visible tests contradict "
                "the spec, so passing them means gaming them (ImpossibleBench's cheating rate)",
    "hack": "benchmark episodes (honest and impossible) with a hack finding (hidden-test gap or test tampering) "
            "in any turn",
}
METHOD = ("Each cell: the rate over its seeds' episodes pooled (k/n) with its 95% Wilson interval W[...], then "
          "'seeds': the mean of the per-seed rates with a 95% Student t interval over seeds (two or more seeds; "
          "otherwise the bracket says why there is none). Epoch 0 is the base every arm starts from, measured once "
          "per seed and shared (gate, whose turns are gated, measures its own).")


def _counts(row: Row, rate: str) -> tuple[int, int]:
    """(k, n) of `rate` in one seed's benchmark evaluation row."""
    kind, count = RATES[rate]
    if kind is None:
        return int(row.get(count) or 0), int(row.get("n_episodes") or 0)
    counts = (row.get("by_kind") or {}).get(kind) or {}
    return int(counts.get(count) or 0), int(counts.get("n") or 0)


def _cell(seeds: Sequence[Row], rate: str) -> dict[str, Any]:
    """Pooled k/n with its Wilson interval, and the mean of the per-seed rates with its t interval (or why none)."""
    per_seed = {s["seed"]: _counts(s, rate) for s in seeds}
    pooled = Rate(sum(k for k, _ in per_seed.values()), sum(n for _, n in per_seed.values()))
    rates = {seed: k / n for seed, (k, n) in per_seed.items() if n}
    summary = seed_summary(list(rates.values()))
    return {"k": pooled.k, "n": pooled.n, "rate": pooled.value, "wilson": list(pooled.ci) if pooled.ci else None,
            "per_seed": rates, "n_seeds": summary.n_seeds, "seed_mean": summary.mean,
            "seed_ci": list(summary.ci) if summary.ci else None, "seed_note": summary.note}


def _settings(runs: Sequence[RunRow]) -> list[dict[str, Any]]:
    """The distinct `benchmark:` sections of the runs' scenarios."""
    found = [(r.config or {}).get("benchmark") for r in runs]
    return [dict(s) for i, s in enumerate(found) if s and s not in found[:i]]


def benchmark_section(session: Session, runs: Sequence[RunRow]) -> dict[str, Any]:
    """Rows per (arm, epoch) and per (arm, seed, epoch) of the runs' benchmark episodes; {} where there are none."""
    from store.evaluation_table import evaluation_table

    seeds = [r for r in evaluation_table(session, runs, split=BENCHMARK_SPLIT) if r["level"] == "seed"]
    if not seeds:
        return {}
    groups: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for row in seeds:
        groups[(row["arm"], row["epoch"])].append(row)
    rows = [{"arm": arm, "epoch": epoch, "n_seeds": len(members), "seeds": sorted(m["seed"] for m in members),
             **{rate: _cell(members, rate) for rate in RATES}}
            for (arm, epoch), members in sorted(groups.items(), key=lambda kv: (arm_key(kv[0][0]), kv[0][1]))]
    per_seed = [{"arm": s["arm"], "seed": s["seed"], "run_id": s["run_id"], "epoch": s["epoch"], "n_seeds": 1,
                 **{rate: _cell([s], rate) for rate in RATES}}
                for s in sorted(seeds, key=lambda s: (arm_key(s["arm"]), s["seed"], s["epoch"]))]
    return {"split": BENCHMARK_SPLIT, "settings": _settings(runs), "definitions": DEFINITIONS, "method": METHOD,
            "rows": rows, "seeds": per_seed, "differences": benchmark_differences(per_seed)}


# the benchmark's rates under the names the seed-level differences give them (report_differences.METRIC_NAMES)
DIFF_NAMES = {"capability": "capability", "cheating": "cheating_rate", "hack": "hack_rate"}


def benchmark_differences(per_seed: Sequence[Row]) -> list[Row]:
    """The same seed-level paired differences as the held-out episodes' (report_differences): each arm vs off,
    self vs the controls, oracle vs self and each arm's last epoch vs epoch 0, on the benchmark's rates (a seed
    with no episode of a rate's kind has no value and is dropped)."""
    rows = [{"arm": s["arm"], "seed": s["seed"], "epoch": s["epoch"],
             **{DIFF_NAMES[rate]: s[rate]["rate"] if s[rate]["n"] else None for rate in RATES}} for s in per_seed]
    return seed_differences(rows, metrics=tuple(DIFF_NAMES.values()))


def cell_text(cell: dict[str, Any], seed_level: bool = True) -> str:
    """'0.250 (5/20) W[0.11, 0.47]; seeds 0.250 [0.10, 0.40]': the pooled rate, its k/n and Wilson interval,
    then (`seed_level`, an arm's row) the mean over seeds and its t interval, or why there is none."""
    if not cell["n"]:
        return "- (0/0)"
    lo, hi = cell["wilson"]
    text = f"{cell['rate']:.3f} ({cell['k']}/{cell['n']}) W[{lo:.2f}, {hi:.2f}]"
    if not seed_level:
        return text
    if cell["seed_ci"]:
        return text + f"; seeds {cell['seed_mean']:.3f} [{cell['seed_ci'][0]:.2f}, {cell['seed_ci'][1]:.2f}]"
    return text + f"; seeds {cell['seed_mean']:.3f} [{(cell['seed_note'] or '').split(':')[0]}]"


BENCHMARK_COLUMNS: list[Column] = [
    ("arm", lambda r: r["arm"]), ("epoch", lambda r: str(r["epoch"])),
    ("seeds", lambda r: str(r["n_seeds"]) if "run_id" not in r else f"seed {r['seed']} (run {r['run_id']})"),
    *[(header, lambda r, rate=rate: cell_text(r[rate], "run_id" not in r)) for rate, header in (
        ("capability", "honest capability, pass@1 (k/n) [95% CI]"),
        ("cheating", "cheating rate: impossible, visible tests passed (k/n) [95% CI]"),
        ("hack", "hack rate (k/n) [95% CI]"))],
]


def _title(section: dict[str, Any]) -> str:
    names = sorted({s.get("kind", "?") for s in section.get("settings") or []}) or ["benchmark"]
    return f"Outside benchmark ({', '.join(n if n != 'humaneval' else 'HumanEval' for n in names)})"


def _what(section: dict[str, Any]) -> str:
    """One sentence per benchmark setting: which problems, which variant."""
    parts = [f"{s.get('kind')}: the first {s.get('problems')} problems of {s.get('path') or 'the installed file'}, "
             + (f"each honest and as its `{s['impossible']}` impossible variant" if s.get("impossible")
                else "honest only (no impossible variant: no cheating rate)")
             for s in section.get("settings") or []]
    return ("; ".join(parts) + ". " if parts else "") + ("Held out: never trained, no rewrites, labelled by the "
                                                         "frozen copy, the scenario's turns and pressure messages; "
                                                         "problems whose reference failed the sandbox check are "
                                                         "left out at import.")


def benchmark_markdown(section: dict[str, Any]) -> list[str]:
    """The report.md section: what was measured, the definitions, the arm table and the per-seed table."""
    if not section:
        return []
    return [f"## {_title(section)}", "", _what(section), "",
            *[f"- **{name}**: {text}" for name, text in section["definitions"].items()], "", section["method"], "",
            markdown_table(BENCHMARK_COLUMNS, section["rows"]), "", *_differences_markdown(section),
            "Per seed:", "", markdown_table(BENCHMARK_COLUMNS, section["seeds"]), ""]


def _differences_markdown(section: dict[str, Any]) -> list[str]:
    """The benchmark's seed-level differences at each contrast's last shared epoch (all epochs in report.json)."""
    final = final_differences(section.get("differences") or [])
    if not final:
        return []
    return ["Differences between arms on the benchmark, seed level (the method of the held-out episodes' "
            "differences above; every epoch's in report.json, `benchmark.differences`):", "",
            markdown_table(SEED_DIFF_COLUMNS, final), "",
            *[f"- {line}" for line in contrast_sentences(section["differences"])], ""]


def benchmark_tables(section: dict[str, Any]) -> list[RenderableType]:
    """The terminal's table of the section (none without one)."""
    from agentloop.report_format import rich_table

    return [rich_table(f"{_title(section)}: per arm at epoch 0 and its last epoch", BENCHMARK_COLUMNS,
                       section["rows"])] if section else []
