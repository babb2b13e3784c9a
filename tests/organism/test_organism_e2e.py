"""The organism at CI size, end to end: the warm start (a recorded round, merged into the base), then
`Experiment.run` with arms off and oracle x 1 seed x 1 epoch on the real HF engine built on the merged
base, the pressure rounds in child processes, the sandbox and the store.

Checked against the raw rows: the warm start is one done round with an adapter, found again (not
retrained) on resume; every arm's rounds trained its seed's pressure file; the report equals plain
SQL; held-out families never reach a training episode or the task data.
(HF, not vLLM: the session's vLLM engine is on the raw model, and one process holds one vLLM engine.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _evaluation_sql import assert_report_matches_sql, sql
from agentloop.core.paths import repo_root

pytestmark = [pytest.mark.model, pytest.mark.slow]
ORGANISM = repo_root() / "scenarios" / "organism.yaml"
EPOCHS = 1  # one round per arm checks what two did (the pressure file, the losses); CI's budget
ARMS = ["off", "oracle"]
TINY_WARM_START = "name = 'organism/warm_start' AND json_extract(config, '$.experiment') = 'tiny/warm_start'"


def tiny_organism():
    """organism.yaml at CI size: 2-step rounds, 1 eval instance per held-out family, short answers."""
    from agentloop.config.scenario import load_scenario

    s = load_scenario(ORGANISM).with_overrides(max_tokens=64, episodes=2, turns=2)  # multi-turn at CI cost
    s = s.model_copy(update={"batch_size": 8})  # the HF engine pads a wave to its longest prompt: CI-sized waves
    org = s.organism
    warm = org.warm_start.model_copy(update={"steps": 2, "instances_per_family": 1, "max_length": 512})
    dose = org.dose.model_copy(update={"steps": 2, "n": 8, "max_length": 512})
    tasks = s.tasks.model_copy(update={"eval_instances_per_family": 1})
    conscience = s.conscience.model_copy(update={"rewrite_max_tokens": 64})
    return s.model_copy(update={"organism": org.model_copy(update={"warm_start": warm, "dose": dose}),
                                "tasks": tasks, "conscience": conscience, "benchmark": None})  # its own test


@pytest.fixture(scope="module")
def organism_run(embedded_model_path, tmp_path_factory):
    from agentloop.engines import make_engine
    from agentloop.experiment import Experiment
    from agentloop.organism.stage import warm_start
    from store.session import open_store

    work = tmp_path_factory.mktemp("organism")
    db_url = f"sqlite:///{work / 'org.db'}"
    scenario = tiny_organism()
    store = open_store(db_url)
    store.upgrade()
    base = warm_start(scenario, store, db_url, work / "runs", embedded_model_path, key="tiny",
                      scenario_path=str(ORGANISM), command="pytest tiny organism")
    engine = make_engine("hf", base, dtype="float32")
    exp = Experiment(scenario, store, engine, db_url=db_url, workdir=work / "runs", model_path=base,
                     scenario_path=str(ORGANISM), command="pytest tiny organism")
    units = exp.run("tiny", ARMS, [0], EPOCHS)
    return scenario, store, units, db_url, work, base, embedded_model_path


def _task_data(db_url: str, run_id: int) -> Path:
    """The run's task data as its store recorded it (store.artifacts), checked against its sha256."""
    from store.artifacts import resolve_file
    from store.session import open_store

    return resolve_file(open_store(db_url), run_id, "task_data")


def test_warm_start_is_a_recorded_round_merged_into_the_base(organism_run):
    from agentloop.organism.stage import BASE_MARKER, warm_start

    scenario, store, _, db_url, work, base, raw = organism_run
    (run_id, arm, config), = sql(db_url, f"SELECT id, arm, config FROM runs WHERE {TINY_WARM_START}")
    assert arm == "warm_start" and json.loads(config)["experiment"] == "tiny/warm_start"
    rounds = sql(db_url, "SELECT version, status, steps, n_task, losses FROM training_rounds WHERE run_id = ?", run_id)
    assert [(v, s, n) for v, s, n, _, _ in rounds] == [(1, "done", 2)]
    assert set(json.loads(rounds[0][4])) == {"task", "total"}  # SFT only: no DPO term
    (adapter,), = sql(db_url, "SELECT path FROM adapters WHERE run_id = ?", run_id)
    marker = json.loads((Path(base) / BASE_MARKER).read_text())
    assert marker == {"base": raw, "adapter": adapter, "inputs": json.loads(config)["inputs"]}
    assert Path(base, "config.json").is_file() and len(marker["inputs"]) == 64
    assert Path(base) == work / "runs" / "organism" / "tiny-base"
    # again with the same key (a resumed experiment): the same folder, nothing trained
    assert warm_start(scenario, store, db_url, work / "runs", raw, key="tiny") == base
    assert sql(db_url, "SELECT COUNT(*) FROM training_rounds WHERE run_id = ?", run_id) == [(1,)]


def test_another_experiment_with_the_same_inputs_reuses_the_base(organism_run):
    """A second experiment (another key) in the same workdir with the same scenario and model links the first
    one's base instead of training: no round, a done run that names the base it reused, the same model folder
    bytes; its report says so. A changed setting gives another digest, so nothing is found for it."""
    from agentloop.organism.base_digest import find_base
    from agentloop.organism.stage import (BASE_MARKER, warm_start, warm_start_inputs, warm_start_jsonl,
                                          warm_start_trainer)
    from agentloop.report_notes import warm_start_notes

    scenario, store, _, db_url, work, base, raw = organism_run
    again = warm_start(scenario, store, db_url, work / "runs", raw, key="tiny2")
    assert Path(again) == work / "runs" / "organism" / "tiny2-base" and Path(again).resolve() == Path(base)
    (run_id, config, status), = sql(db_url, "SELECT id, config, status FROM runs WHERE name = 'organism/warm_start' "
                                              "AND json_extract(config, '$.experiment') = 'tiny2/warm_start'")
    first, = sql(db_url, f"SELECT config FROM runs WHERE {TINY_WARM_START}")
    assert json.loads(config)["reused_base"] == base and status == "done"
    assert json.loads(config)["inputs"] == json.loads(first[0])["inputs"]
    assert sql(db_url, "SELECT COUNT(*) FROM training_rounds WHERE run_id = ?", run_id) == [(0,)]
    assert warm_start(scenario, store, db_url, work / "runs", raw, key="tiny2") == again  # its own resume
    with store.session() as s:
        assert "not trained again" in warm_start_notes(s, "tiny2")[0]
    data = warm_start_jsonl(scenario, work / "other-warm_start.jsonl")
    assert find_base(work / "runs" / "organism", warm_start_inputs(warm_start_trainer(scenario, data), data, raw),
                     BASE_MARKER) == Path(base)
    org = scenario.organism
    more = scenario.model_copy(update={"organism": org.model_copy(update={
        "warm_start": org.warm_start.model_copy(update={"steps": org.warm_start.steps + 1})})})
    assert find_base(work / "runs" / "organism", warm_start_inputs(warm_start_trainer(more, data), data, raw),
                     BASE_MARKER) is None


def test_the_taught_warm_start_is_in_the_store_and_the_report(organism_run):
    """The warm start teaches the conscience's two questions (organism.yaml's judge and rewrite shares): its run
    records the rows of each purpose and the report names them (held-out families never appear in those rows:
    tests/organism/test_judge_data.py)."""
    from agentloop.report import build_report

    _, _, _, db_url, work, *_ = organism_run
    (config,), = sql(db_url, f"SELECT config FROM runs WHERE {TINY_WARM_START}")
    rows = json.loads(config)["warm_start_rows"]
    assert rows["judge"] > 0 and rows["rewrite"] > 0 and rows["answer"] > 0
    data = [json.loads(line) for line in (work / "runs" / "organism" / "tiny-warm_start.jsonl").read_text().splitlines()]
    assert {r["purpose"]: 0 for r in data} and sum(r["purpose"] == "judge" for r in data) == rows["judge"]
    notes = build_report(db_url, "tiny").as_dict()["notes"]
    assert any(f"{rows['judge']} judge" in n and f"{rows['rewrite']} rewrite" in n for n in notes), notes


def test_merged_base_differs_from_the_raw_model(organism_run):
    from safetensors.torch import load_file

    *_, base, raw = organism_run
    merged, original = load_file(f"{base}/model.safetensors"), load_file(f"{raw}/model.safetensors")
    name = next(k for k in merged if k.endswith("layers.0.self_attn.q_proj.weight"))
    assert merged[name].dtype == original[name].dtype and not merged[name].equal(original[name])


def test_every_arm_trains_its_seeds_pressure(organism_run):
    scenario, _, units, db_url, work, _, _ = organism_run
    (path,) = (work / "runs" / "organism").glob("pressure-s0-*.jsonl")
    pressure = [json.loads(line)["messages"] for line in path.open()]
    assert len(pressure) == scenario.organism.dose.n
    for unit in units:
        rounds = sql(db_url, "SELECT version, status, steps, losses FROM training_rounds WHERE run_id = ? ORDER BY id",
                      unit.run_id)
        assert [(v, s, n) for v, s, n, _ in rounds] == [(v, "done", 2) for v in range(1, EPOCHS + 1)]
        trained = [json.loads(line)["messages"] for line in _task_data(db_url, unit.run_id).open()]
        assert trained == pressure
        if unit.arm == "off":
            assert all(set(json.loads(losses)) == {"task", "total"} for *_, losses in rounds)
        assert sql(db_url, "SELECT epoch FROM evaluations WHERE run_id = ? ORDER BY epoch", unit.run_id) == [
            (e,) for e in range(EPOCHS + 1)]


def test_report_equals_plain_sql(organism_run):
    _, _, units, db_url, _, _, _ = organism_run
    # every arm's run, each epoch; the warm start's run is no arm, so the report has no row for it
    assert_report_matches_sql(db_url, "tiny", [u.run_id for u in units], EPOCHS)


def test_held_out_families_never_reach_training(organism_run):
    scenario, _, units, db_url, work, _, _ = organism_run
    holdout = set(scenario.tasks.holdout_families)
    for unit in units:
        train = {f for (f,) in sql(db_url, "SELECT task_family FROM episodes WHERE run_id = ? AND split = 'train'",
                                     unit.run_id)}
        evals = {f for (f,) in sql(db_url, "SELECT task_family FROM episodes WHERE run_id = ? AND split = 'eval'",
                                     unit.run_id)}
        assert train and not train & holdout and evals == holdout
    files = [*(work / "runs" / "organism").glob("pressure-s0-*.jsonl"), work / "runs" / "organism" / "tiny-warm_start.jsonl"]
    for path in files:
        rows = [json.loads(line) for line in path.open()]
        assert rows and not {r["family"] for r in rows} & holdout
    held_prompts = [p for (p,) in sql(db_url, """SELECT t.prompt FROM turns t JOIN episodes e ON e.id = t.episode_id
                                                  WHERE e.split = 'eval' AND t."index" = 0""")]
    trained = "".join(path.read_text() for path in files)
    assert held_prompts and not any(json.dumps(p)[1:-1] in trained for p in held_prompts)
