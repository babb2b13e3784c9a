"""The held-out families are split in two (issue 26): `holdout_families` (dev: dose curves, tuning)
and `test_families` (the reported numbers, evaluated once with `--split test`). Neither ever reaches
training; a run records what pins its settings (commit, scenario sha256, split) and the report says it."""

from __future__ import annotations

import hashlib

import pytest

from agentloop.core.errors import ConfigError
from agentloop.core.paths import repo_root
from agentloop.config.scenario import load_scenario
from agentloop.tasks import select_tasks

ORGANISM = repo_root() / "scenarios" / "organism.yaml"


def _split(dev: list[str], test: list[str], eval_split: str = "dev"):
    s = load_scenario(ORGANISM)
    tasks = s.tasks.model_validate({**s.tasks.model_dump(), "holdout_families": dev, "test_families": test,
                                    "eval_split": eval_split})
    return s.model_copy(update={"tasks": tasks})


def test_the_organism_names_its_test_split_apart_from_the_flagships_tasks():
    organism = load_scenario(ORGANISM)
    assert len(organism.tasks.test_families) == 8 and not set(organism.tasks.test_families) & set(
        organism.tasks.holdout_families)
    flagship = load_scenario(repo_root() / "scenarios" / "codehack_multiturn.yaml")
    trained = {t.family for t in select_tasks(flagship.tasks, seed=0, split="train")}
    assert trained and not trained & set(organism.tasks.test_families)  # families: all never reaches them


def test_neither_split_is_trained_and_each_is_evaluated_alone():
    dev, test = ["max_of_list", "sum_even"], ["count_vowels", "add_numbers"]
    scenario = _split(dev, test)
    train = {t.family for t in select_tasks(scenario.tasks, seed=0, split="train")}
    assert train and not train & set(dev + test)
    assert {t.family for t in select_tasks(scenario.tasks, seed=0, split="eval")} == set(dev)
    tested = _split(dev, test, "test")
    assert {t.family for t in select_tasks(tested.tasks, seed=0, split="eval")} == set(test)
    assert scenario.with_overrides(split="test").tasks.eval_families == sorted(test)


def test_a_family_in_both_splits_or_a_test_split_without_families_is_an_error():
    with pytest.raises(ValueError, match=r"\['sum_even'\] are in both holdout_families \(dev\) and test_families"):
        _split(["sum_even"], ["sum_even"])
    with pytest.raises(ConfigError, match="tasks: eval_split is test but tasks.test_families is empty"):
        load_scenario(repo_root() / "scenarios" / "smoke.yaml").with_overrides(split="test")


def test_a_run_records_its_provenance_and_the_report_names_it(tmp_path):
    from agentloop.launch import create_run
    from agentloop.provenance import provenance
    from agentloop.report import RunInfo
    from store.recorder import Recorder
    from store.session import ensure_schema

    rec = Recorder(ensure_schema(f"sqlite:///{tmp_path / 'p.db'}"))
    run_id = create_run(rec, load_scenario(ORGANISM), scenario_path=ORGANISM, command="test", arm="off",
                        sandbox_backend="bwrap")
    with rec.store.session() as s:
        from store.models import RunRow

        config = s.get(RunRow, run_id).config
    recorded = config["provenance"]
    assert recorded["scenario_sha256"] == hashlib.sha256(ORGANISM.read_text().encode()).hexdigest()
    assert recorded == provenance(ORGANISM.read_text())
    assert recorded["commit"] is None or len(recorded["commit"]) == 40
    from agentloop.report import Report

    info = RunInfo(id=run_id, name="r", arm="off", seed=0, status="done", model="m", backend="b", command=None,
                   scenario_path=str(ORGANISM), config=config)
    report = Report(target="x", kind="run", split="eval", db="d", runs=[info], rows=[], arms=[], judges={},
                    flagged_train={})
    assert report.provenance()["scenario_sha256"] == [recorded["scenario_sha256"]]
    assert report.provenance()["eval_split"] == ["dev"] and report.provenance()["unrecorded_runs"] == []
