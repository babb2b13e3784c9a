"""Where an experiment's time went, read back from its store: per arm, the mean seconds of each phase of a
cell epoch (epochs >= 1), and the experiment's wall time with its warm start's seconds per step.

    .venv/bin/python bench/experiment_phases.py EXPERIMENT_ID --db sqlite:///agentloop_runs/<folder>/store.db

The phases are what `agentloop experiment` records in `evaluations.extra.phase_s` (this session's seconds:
an epoch resumed after a crash counts only its resumed part). The wall time runs from the warm start's
creation to the last evaluation row; across resumed segments it includes the pauses between them, so the
segments are counted too: every turn, evaluation and run start is a recorded time, the warm start's and every
learner round's span is busy, and a gap of over 10 minutes between two of them starts a new segment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
from collections import defaultdict

from _table import print_table

PHASES = ("train_episodes_s", "train_generate_s", "train_sandbox_s", "train_review_s", "train_audit_s", "round_s",
          "eval_episodes_s", "eval_generate_s", "eval_sandbox_s", "eval_review_s")
CELL_EPOCH = ("train_episodes_s", "round_s", "eval_episodes_s")
# between busy spans (instants, the warm start, learner rounds): a pause, not work. In fp32 on an AVX2 CPU one
# policy step of a last epoch (held-out and benchmark episodes together) took up to ~7 min without a turn stored
GAP = dt.timedelta(minutes=10)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment")
    parser.add_argument("--db", required=True)
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    with create_engine(args.db).connect() as con:
        runs = {rid: (arm, config) for rid, arm, config in con.execute(text("SELECT id, arm, config FROM runs"))}
        mine = {rid: arm for rid, (arm, config) in runs.items()
                if str(json.loads(config or "{}").get("experiment", "")).startswith(args.experiment)}
        starts = [_time(t) for rid, t in con.execute(text("SELECT id, created_at FROM runs")) if rid in mine]
        rows = [(rid, epoch, json.loads(extra or "{}"), _time(created)) for rid, epoch, extra, created in
                con.execute(text("SELECT run_id, epoch, extra, created_at FROM evaluations ORDER BY created_at"))
                if rid in mine]
        turns = [_time(t) for rid, t in con.execute(text(
            "SELECT e.run_id, t.created_at FROM turns t JOIN episodes e ON e.id = t.episode_id")) if rid in mine]
        warm = [(json.loads(runs[rid][1] or "{}"), _time(a), _time(b)) for rid, arm, a, b in con.execute(
            text("SELECT id, arm, created_at, finished_at FROM runs")) if rid in mine and arm == "warm_start" and b]
        rounds = [(_time(a), _time(b)) for rid, a, b in con.execute(
            text("SELECT run_id, started_at, finished_at FROM training_rounds")) if rid in mine and a and b]

    by_arm: dict[str, list[dict]] = defaultdict(list)
    for rid, epoch, extra, _ in rows:
        if epoch >= 1 and extra.get("split", "eval") == "eval" and extra.get("phase_s"):
            by_arm[mine[rid]].append(extra["phase_s"])
    table = []
    for arm, phases in by_arm.items():
        cell = statistics.fmean(sum(p.get(k, 0.0) for k in CELL_EPOCH) for p in phases)
        table.append((f"{arm}: cell epoch s (n={len(phases)})", f"{cell:.1f}"))
        table += [(f"{arm}:   {k}", f"{statistics.fmean(p.get(k, 0.0) for p in phases):.1f}") for k in PHASES]
    instants = [*starts, *turns, *(t for *_, t in rows)]
    busy = sorted([*((t, t) for t in instants), *((a, b) for _, a, b in warm), *rounds])
    segments = [busy[0]]
    for begin, end in busy[1:]:
        if begin - segments[-1][1] > GAP:
            segments.append((begin, end))
        else:
            segments[-1] = (segments[-1][0], max(segments[-1][1], end))
    active = sum((b - a for a, b in segments), dt.timedelta())
    span = segments[-1][1] - segments[0][0]
    table.append(("wall, first run to last recorded time (min)", f"{span.total_seconds() / 60:.1f}"))
    table.append((f"wall in {len(segments)} segment(s), pauses left out (min)", f"{active.total_seconds() / 60:.1f}"))
    table += [(f"  segment {a:%H:%M:%S}-{b:%H:%M:%S} (min)", f"{(b - a).total_seconds() / 60:.1f}") for a, b in segments]
    table.append(("evaluation rows (all splits, epochs)", str(len(rows))))
    for config, began, ended in warm:  # machines differ: the warm start's pace lets a reader scale the rest
        steps = config.get("organism", {}).get("warm_start", {}).get("steps") or 0
        seconds = (ended - began).total_seconds()
        table.append(("warm start s (s per step)", f"{seconds:.0f} ({seconds / steps:.1f})" if steps else f"{seconds:.0f}"))
    print_table(table, 8)


if __name__ == "__main__":
    main()
