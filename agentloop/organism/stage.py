"""The organism's stages around the experiment: the warm start before epoch 0, the dose in each round.

    agentloop experiment scenarios/organism.yaml --epochs 5 --arms off,self,oracle,gate --seeds 3

(the CLI calls `warm_start` before it builds the engine, and `Experiment.run` calls `dosed` on each
arm's scenario.) In code:

    from agentloop.organism.stage import warm_start, dosed
    base = warm_start(scenario, store, db_url, workdir, model_path, key="organism-20261202-1000")
    train = dosed(arm_scenario(scenario, "off", 0), workdir)

`warm_start` records one run (arm `warm_start`, `runs.config["experiment"]` = "<experiment id>/warm_start")
whose single learner round (a `training_rounds` row and an `adapters` row, like any round) trains the
warm-start data (`agentloop.organism.warmstart`), then merges that adapter into the base weights
(PEFT `merge_and_unload`, saved in fp32 into `<workdir>/organism/<key>-base`). That folder is the
model of every arm and of the frozen copy; its marker records the digest of its inputs (model bytes, data
bytes, round settings: agentloop.organism.base_digest). Run again with the same key (a resumed experiment),
it finds the folder and trains nothing; a new experiment whose inputs have the same digest as a base in the
workdir links `<key>-base` to that folder and records the reuse (`runs.config.reused_base`) instead of training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from agentloop.core.errors import AgentloopError
from agentloop.config.scenario import Scenario

__all__ = ["BASE_MARKER", "dose_jsonl", "dose_name", "dosed", "merge_adapter", "purpose_counts", "warm_start",
           "warm_start_inputs", "warm_start_jsonl", "warm_start_trainer"]

log = logging.getLogger(__name__)
BASE_MARKER = "agentloop-warm-start.json"  # written last into a merged base folder: it is complete


def _families(scenario: Scenario):
    from agentloop.tasks import load_sources

    return load_sources(scenario.tasks.source)


def _write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmp.rename(path)
    return path


def warm_start_jsonl(scenario: Scenario, path: Path) -> Path:
    """The warm-start data of the scenario (training families only), as messages JSONL at `path`: honest
    answers, and the judge and rewrite rows in the scenario's conscience framework (judge_data)."""
    from agentloop.organism.judge_data import warm_start_data
    from conscience.framework import load_framework

    ws = _organism(scenario).warm_start
    if ws is None:
        raise AgentloopError(f"scenario {scenario.name!r} has no organism.warm_start")
    rows = warm_start_data(_families(scenario), scenario.tasks.held_out, ws,
                           load_framework(scenario.conscience.framework))
    return _write_jsonl(rows, path)


def dose_jsonl(scenario: Scenario, seed: int, path: Path) -> Path:
    """Seed `seed`'s dose data (training families only), as messages JSONL at `path` (kept if present)."""
    from agentloop.organism.dose import dose_rows

    if path.is_file():
        return path
    d = _organism(scenario).dose
    rows = dose_rows(_families(scenario), scenario.tasks.held_out, d.n, d.hack_share,
                     d.insecure_share, seed=seed, strategies=d.strategies)
    return _write_jsonl(rows, path)


def _organism(scenario: Scenario):
    if scenario.organism is None:
        raise AgentloopError(f"scenario {scenario.name!r} has no organism section")
    return scenario.organism


def _with_dose(scenario: Scenario, dose, task_jsonl: Path, dpo_weight: float | None = None) -> Scenario:
    """The scenario whose learner rounds train `dose` (steps, batch, lr, LoRA, length) on `task_jsonl`."""
    learner = {**dose.learner_fields(), "task_weight": 1.0, "task_data": {"jsonl": str(task_jsonl)}}
    if dpo_weight is not None:
        learner["dpo_weight"] = dpo_weight
    if (reduction := getattr(dose, "task_reduction", None)) is not None:  # the warm start's; the dose keeps the scenario's
        learner["task_reduction"] = reduction
    return scenario.with_changes(learner=learner)


def dosed(scenario: Scenario, workdir: Path) -> Scenario:
    """An arm's scenario with the organism's dose as its learner rounds (unchanged without `organism`).

    Task data: `<workdir>/organism/dose_name(...)`, the same file for every arm of a seed."""
    if scenario.organism is None:
        return scenario
    path = dose_jsonl(scenario, scenario.seed, Path(workdir) / "organism" / dose_name(scenario))
    return _with_dose(scenario, scenario.organism.dose, path)


def dose_name(scenario: Scenario) -> str:
    """`pressure-s<seed>-<digest>.jsonl`: the digest covers what the data depends on (the dose settings,
    the task folders and the held-out families), so a changed scenario never reuses a file. The file
    name and the digest's key keep the dose's former name, so a resumed experiment finds its data."""
    what = {"pressure": _organism(scenario).dose.model_dump(mode="json"), "source": scenario.tasks.source,
            "holdout": scenario.tasks.held_out}
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:10]
    return f"pressure-s{scenario.seed}-{digest}.jsonl"


def purpose_counts(jsonl: Path) -> dict[str, int]:
    """Rows of a warm-start file by purpose (answer, judge, rewrite): what the stage teaches, for its run's config."""
    counts: dict[str, int] = {}
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        if line.strip():
            purpose = json.loads(line).get("purpose", "answer")
            counts[purpose] = counts.get(purpose, 0) + 1
    return counts


def merge_adapter(model_path: str, adapter_path: str, out: Path, inputs: str | None = None) -> Path:
    """The base with the adapter merged in (fp32), saved with its tokenizer into `out` atomically; the marker
    records `inputs` (agentloop.organism.base_digest) so a later experiment can find it."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, adapter_path).merge_and_unload()
    merged.save_pretrained(str(tmp))
    AutoTokenizer.from_pretrained(model_path).save_pretrained(str(tmp))
    template = Path(model_path) / "chat_template.jinja"
    if template.is_file() and not (tmp / template.name).is_file():
        shutil.copy(template, tmp / template.name)
    marker = {"base": str(model_path), "adapter": str(adapter_path)}
    (tmp / BASE_MARKER).write_text(json.dumps(marker if inputs is None else {**marker, "inputs": inputs}))
    if out.is_symlink():  # a reused base's name whose target is gone
        out.unlink()
    elif out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def _warm_start_run(store, key: str, seed: int) -> int | None:
    from store.experiments import experiment_run

    with store.session() as s:
        return experiment_run(s, f"{key}/warm_start", "warm_start", seed)


def warm_start_trainer(scenario: Scenario, data: Path) -> Scenario:
    """The scenario whose one learner round is the warm start: its steps, batch, lr, LoRA and length on `data`
    (SFT only), at the warm start's seed."""
    ws = _organism(scenario).warm_start
    if ws is None:
        raise AgentloopError(f"scenario {scenario.name!r} has no organism.warm_start")
    return _with_dose(scenario.with_overrides(seed=ws.seed), ws, data, dpo_weight=0.0)


def warm_start_inputs(trainer: Scenario, data: Path, model_path: str) -> str:
    """The digest of what the warm-start round and merge are made of (agentloop.organism.base_digest)."""
    from agentloop.organism.base_digest import base_inputs_digest, model_digest
    from learner.train import pick_device

    device, dtype = pick_device(trainer.learner_config())
    learner = {**trainer.learner.model_dump(mode="json"), "seed": trainer.seed}
    return base_inputs_digest(model_digest(model_path, skip=frozenset({BASE_MARKER})), data, learner,
                              (device, str(dtype)))


def warm_start(scenario: Scenario, store, db_url: str, workdir: Path, model_path: str, *, key: str,
               scenario_path: str = "", command: str = "") -> str:
    """The model every arm starts from: `model_path` itself without `organism.warm_start`, else the
    merged warm-started folder `<workdir>/organism/<key>-base`: found again on resume; a link to another
    experiment's base made from the same inputs (agentloop.organism.base_digest); else trained and recorded."""
    from agentloop.launch import Learning
    from agentloop.organism.base_digest import find_base
    from store.recorder import Recorder

    organism = scenario.organism
    if organism is None or organism.warm_start is None:
        return model_path
    ws = organism.warm_start
    workdir = Path(workdir)
    out = workdir / "organism" / f"{key}-base"
    if (out / BASE_MARKER).is_file():
        log.info("warm start of %s: using %s", key, out)
        return str(out)
    data = warm_start_jsonl(scenario, workdir / "organism" / f"{key}-warm_start.jsonl")  # deterministic
    trainer = warm_start_trainer(scenario, data)
    inputs = warm_start_inputs(trainer, data, model_path)
    rec = Recorder(store)
    run_id = _warm_start_run(store, key, ws.seed)
    if run_id is None:
        yaml_text = Path(scenario_path).read_text() if scenario_path and Path(scenario_path).is_file() else ""
        found = find_base(out.parent, inputs, BASE_MARKER)
        config = {"experiment": f"{key}/warm_start", "organism": organism.model_dump(mode="json"),
                  "warm_start_rows": purpose_counts(data), "inputs": inputs}
        if found is not None:
            config["reused_base"] = str(found)
        run_id = rec.create_run(name=f"{scenario.name}/warm_start", scenario_path=scenario_path,
                                scenario_yaml=yaml_text, config=config,
                                model=scenario.model.name, backend=scenario.model.backend, seed=ws.seed,
                                command=command, arm="warm_start")
        if found is not None:  # the same inputs made this base before: link it under this experiment's name
            out.symlink_to(found.name, target_is_directory=True)
            rec.finish_run(run_id, "done")
            log.info("warm start of %s: %s has the same inputs (%s), reused", key, found, inputs[:12])
            return str(out)
    adapter = rec.latest_adapter(run_id)
    if adapter is None:
        log.info("warm start of %s: %d steps on %s", key, ws.steps, data)
        if not Learning(trainer, db_url, run_id, model_path, workdir).round():
            rec.finish_run(run_id, "failed")
            raise AgentloopError(f"the warm-start round of {key} failed (run {run_id}; see the log)")
        adapter = rec.latest_adapter(run_id)
    merge_adapter(model_path, adapter.path, out, inputs)
    rec.finish_run(run_id, "done")
    log.info("warm start of %s: merged into %s", key, out)
    return str(out)
