"""`agentloop export RUN_OR_EXPERIMENT`: take a run's data out as JSON lines or a `datasets` folder.

    agentloop export 3 --what turns --format jsonl --out turns.jsonl
    agentloop export 3 --what pairs --format hf --out pairs_ds          # datasets.load_from_disk -> trl.DPOTrainer
    agentloop export smoke-20261123-101500 --what task-data --format hf --out task_ds

- `turns`: one row per turn: episode context, prompt, reasoning, answer, code, test counts, the
  verdict (label, probabilities, rewrite) and the detector findings.
- `pairs`: TRL's conversational preference format (`prompt` = chat messages, `chosen`/`rejected` =
  one assistant message each) plus provenance columns; pairs the learner would skip (empty,
  refusal, identical) are left out unless --all-pairs.
- `task-data`: one row per (finished training round, task example it trained on): the chat
  `messages` and where they came from. The examples are read from the task data file the run
  recorded in this store (path and sha256, `store.artifacts`), never from a folder found by run
  number: a file that is gone or changed is an error naming the path and the run.
An experiment id exports all of its runs. Credentials never leave: URL passwords and the values of
credential-like environment variables are replaced by *** (store.exports.Scrubber).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agentloop.cli.app import app
from agentloop.cli.db import DbOption, open_existing
from agentloop.core.errors import AgentloopError

log = logging.getLogger(__name__)
console = Console(stderr=True)
WHATS = ("turns", "pairs", "task-data")
FORMATS = ("jsonl", "hf")


@app.command("export")
def export(
    run_or_experiment: Annotated[str, typer.Argument(help="A run id, or an experiment id (all its runs).")],
    what: Annotated[str, typer.Option(help="turns | pairs | task-data")] = "turns",
    fmt: Annotated[str, typer.Option("--format", help="jsonl (one file) | hf (a datasets save_to_disk folder)")]
    = "jsonl",
    out: Annotated[Path, typer.Option("--out", help="The file (jsonl) or folder (hf) to write.")] = Path("export"),
    all_pairs: Annotated[bool, typer.Option(help="Keep pairs the learner skips (empty, refusal, identical).")]
    = False,
    force: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    db: DbOption = None,
) -> None:
    """Export turns, preference pairs or task data of a run or an experiment."""
    from store.exports import Scrubber, pair_export, resolve_runs, round_export, turn_export

    if what not in WHATS:
        raise AgentloopError(f"--what {what!r}: use one of {', '.join(WHATS)}")
    if fmt not in FORMATS:
        raise AgentloopError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if out.exists() and not force:
        raise AgentloopError(f"{out} exists; pass --force to replace it")
    store = open_existing(db)
    with store.session(readonly=True) as s:
        run_ids = resolve_runs(s, run_or_experiment)
        if what == "turns":
            rows = turn_export(s, run_ids)
        elif what == "pairs":
            rows = _usable(pair_export(s, run_ids), keep_all=all_pairs)
        else:
            rounds = round_export(s, run_ids)
    if what == "task-data":
        rows = task_data_rows(rounds, store)
    if not rows:
        raise AgentloopError(f"nothing to export: {what} of run(s) {', '.join(map(str, run_ids))} is empty")
    rows = Scrubber.from_env(extra=[store.engine.url.password or ""]).clean(rows)  # the store's own password too
    write(rows, out, fmt)
    console.print(f"wrote {len(rows)} {what} rows of run(s) {', '.join(map(str, run_ids))} to {out} ({fmt})")


def _usable(rows: list[dict[str, Any]], keep_all: bool) -> list[dict[str, Any]]:
    from learner.examples import skip_reason

    kept, skipped = [], 0
    for row in rows:
        if keep_all or skip_reason(row["chosen"][0]["content"], row["rejected"][0]["content"]) is None:
            kept.append(row)
        else:
            skipped += 1
    if skipped:
        log.info("left out %d pair(s) the learner would skip (empty, refusal or identical); --all-pairs keeps them",
                 skipped)
    return kept


def task_data_rows(rounds: list[dict[str, Any]], store) -> list[dict[str, Any]]:
    """One row per (finished round, task example): the round's task data, from the file its run recorded."""
    from store.artifacts import resolve_file

    rows: list[dict[str, Any]] = []
    cache: dict[int, list[dict[str, Any]]] = {}
    for rnd in rounds:
        if not rnd["n_task"]:
            continue  # the round trained on pairs only
        run_id = rnd["run_id"]
        if run_id not in cache:
            path = resolve_file(store, run_id, "task_data")
            cache[run_id] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for i, example in enumerate(cache[run_id]):
            rows.append({"run_id": run_id, "round_id": rnd["round_id"], "adapter_version": rnd["adapter_version"],
                         "example_index": i, **example})
    return rows


def write(rows: list[dict[str, Any]], out: Path, fmt: str) -> None:
    """JSON lines to the file `out`, or a `datasets` save_to_disk folder at `out`."""
    from store.exports import write_jsonl

    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    if fmt == "jsonl":
        write_jsonl(rows, out)
        return
    import datasets

    datasets.Dataset.from_list(rows).save_to_disk(str(out))
