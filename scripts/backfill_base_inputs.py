"""Give a merged warm-start base made before bases recorded their inputs (agentloop.organism.base_digest) the
digest the current code computes for a scenario, after checking that the base was made from those inputs, so a
new experiment in the same workdir reuses it (agentloop.organism.stage.warm_start).

    PYTHONPATH=. .venv/bin/python scripts/backfill_base_inputs.py scenarios/organism.yaml \\
        --workdir agentloop_runs/organism-controls-test --experiment organism-20261206-101835 \\
        --db sqlite:///agentloop_runs/organism-controls-test/store.db [--write]

Checks, each an error naming what differs: the base's marker names today's raw model; the experiment's
warm-start run recorded the scenario's organism settings; the warm-start data the scenario builds today has the
bytes of the experiment's data file; merging the marker's adapter into today's raw model gives every file of the
base byte for byte. The learner block, device and dtype are not recorded by pre-digest runs: compare them by hand
(the scenario's git history, the run's machine). Without --write it only checks and prints the digest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    from agentloop.config.scenario import load_scenario
    from agentloop.model import resolve_model
    from agentloop.organism.stage import (BASE_MARKER, merge_adapter, warm_start_inputs, warm_start_jsonl,
                                          warm_start_trainer)
    from store.artifacts import sha256_file
    from store.experiments import experiment_runs
    from store.session import open_store

    folder = args.workdir / "organism"
    base = folder / f"{args.experiment}-base"
    marker = json.loads((base / BASE_MARKER).read_text())
    scenario = load_scenario(args.scenario)
    raw = resolve_model(scenario.model.name)
    problems = []
    if marker["base"] != raw:
        problems.append(f"the base was merged on {marker['base']}, the scenario's model is {raw}")
    with open_store(args.db).session() as s:
        runs = experiment_runs(s, f"{args.experiment}/warm_start")
        if [r.config.get("organism") for r in runs] != [scenario.organism.model_dump(mode="json")]:
            problems.append("the experiment's warm-start run recorded other organism settings (or none, or several)")
    with tempfile.TemporaryDirectory() as tmp:
        data = warm_start_jsonl(scenario, Path(tmp) / "warm_start.jsonl")
        if data.read_bytes() != (folder / f"{args.experiment}-warm_start.jsonl").read_bytes():
            problems.append("the scenario's warm-start data differs from the experiment's")
        again = merge_adapter(raw, marker["adapter"], Path(tmp) / "merged")
        problems += [f"{f.name} differs from the adapter merged again" for f in sorted(base.iterdir())
                     if f.name != BASE_MARKER and sha256_file(f) != sha256_file(again / f.name)]
        inputs = warm_start_inputs(warm_start_trainer(scenario, data), data, raw)
    if problems:
        sys.exit("not backfilled:\n  " + "\n  ".join(problems))
    print(f"every check passed; inputs {inputs}")
    if args.write:
        (base / BASE_MARKER).write_text(json.dumps({**marker, "inputs": inputs}))
        print(f"written into {base / BASE_MARKER}")


if __name__ == "__main__":
    main()
