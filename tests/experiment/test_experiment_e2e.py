"""A tiny `agentloop experiment` end to end: 2 arms (off, oracle) x 1 seed x 2 epochs at smoke size
(2 episodes of 1 turn per split and epoch: ~3 min here; 2 turns took ~5.5 min), on
the embedded model with the real vLLM engine, sandbox, learner rounds (child processes) and store.

Checked against the raw rows: every epoch's evaluation and the report equal plain SQL on the file; each
training epoch ran a round whose adapter the next episodes used; held-out tasks never reached training.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _evaluation_sql import assert_report_matches_sql, sql
from agentloop.core.paths import repo_root

pytestmark = [pytest.mark.model, pytest.mark.slow]
SMOKE = repo_root() / "scenarios" / "smoke.yaml"
EPOCHS = 2
ARMS = ["off", "oracle"]


def _experiment(vllm_engine, work: Path, epochs: int, cells: str):
    from agentloop.experiment import Experiment
    from agentloop.config.scenario import load_scenario
    from store.session import open_store

    db_url = f"sqlite:///{work / 'exp.db'}"
    scenario = load_scenario(SMOKE).with_overrides(max_tokens=96, turns=1)
    learner = scenario.learner.model_copy(update={
        "steps": 2, "max_length": 256, "task_data": scenario.learner.task_data.model_copy(update={"n": 4})})
    scenario = scenario.model_copy(update={"learner": learner})
    store = open_store(db_url)
    store.upgrade()
    exp = Experiment(scenario, store, vllm_engine, db_url=db_url, workdir=work / "runs",
                     model_path=vllm_engine.config.model, scenario_path=str(SMOKE), command="pytest tiny experiment")
    units = exp.run("tiny", ARMS, [0], epochs, cells=cells)
    return exp, units, db_url, work


@pytest.fixture(scope="module")
def tiny_experiment(vllm_engine, tmp_path_factory):
    return _experiment(vllm_engine, tmp_path_factory.mktemp("experiment"), EPOCHS, "one_after_another")


def _task_data(db_url: str, run_id: int) -> Path:
    """The run's task data as its store recorded it (store.artifacts), checked against its sha256."""
    from store.artifacts import resolve_file
    from store.session import open_store

    return resolve_file(open_store(db_url), run_id, "task_data")


def test_every_epoch_is_evaluated_and_trained(tiny_experiment):
    _, units, db_url, _ = tiny_experiment
    assert [(u.arm, u.seed) for u in units] == [("off", 0), ("oracle", 0)]
    for unit in units:
        assert sql(db_url, "SELECT status FROM runs WHERE id = ?", unit.run_id) == [("done",)]
        assert sql(db_url, "SELECT epoch FROM evaluations WHERE run_id = ? ORDER BY epoch", unit.run_id) == [
            (e,) for e in range(EPOCHS + 1)]
        rounds = sql(db_url, "SELECT version, status, losses FROM training_rounds WHERE run_id = ? ORDER BY id",
                      unit.run_id)
        assert [(v, s) for v, s, _ in rounds] == [(1, "done"), (2, "done")]
        adapters = sql(db_url, "SELECT version, path FROM adapters WHERE run_id = ? ORDER BY version", unit.run_id)
        assert [v for v, _ in adapters] == [1, 2] and all(Path(p, "adapter_config.json").is_file() for _, p in adapters)
        # epoch k's episodes ran on the adapter of round k (train: round k-1 was the newest then)
        for epoch, split, version in sql(db_url, """
                SELECT DISTINCT e.epoch, e.split, t.adapter_version FROM turns t JOIN episodes e ON e.id = t.episode_id
                WHERE e.run_id = ?""", unit.run_id):
            expected = epoch if split == "eval" else epoch - 1
            assert version == (expected or None), (unit.arm, epoch, split, version)
        if unit.arm == "off":  # task loss only: no conscience, no verdicts, no DPO term
            assert sql(db_url, "SELECT COUNT(*) FROM verdicts v JOIN turns t ON t.id = v.turn_id JOIN episodes e "
                                "ON e.id = t.episode_id WHERE e.run_id = ? AND e.split = 'train'", unit.run_id) == [(0,)]
            assert all(set(json.loads(losses)) == {"task", "total"} for _, _, losses in rounds), rounds


def test_report_equals_plain_sql(tiny_experiment, tmp_path):
    _, units, db_url, _ = tiny_experiment
    report, expected = assert_report_matches_sql(db_url, "tiny", [u.run_id for u in units], EPOCHS)
    stored = sql(db_url, "SELECT run_id, epoch, aligned_rate, capability FROM evaluations")
    for run_id, epoch, aligned, capability in stored:  # the rows written during the run agree too
        assert aligned == pytest.approx(expected[(run_id, epoch)]["aligned_rate"])
        assert capability == pytest.approx(expected[(run_id, epoch)].get("capability"))
    report.plot(tmp_path / "plot.png")
    report.markdown(tmp_path / "report.md")
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| off |" in (tmp_path / "report.md").read_text()


def test_held_out_tasks_never_reach_training(tiny_experiment):
    _, units, db_url, work = tiny_experiment
    for unit in units:
        by_split = {split: set(sql(db_url, "SELECT task_family, task_seed FROM episodes WHERE run_id = ? AND split = ?",
                                    unit.run_id, split)) for split in ("train", "eval")}
        assert by_split["train"] and by_split["eval"] and not by_split["train"] & by_split["eval"]
        task_data = [json.loads(line) for line in _task_data(db_url, unit.run_id).open()]
        assert len(task_data) == 4
        assert not {(r["family"], r["seed"]) for r in task_data} & by_split["eval"]
        # and no held-out task's prompt text appears in a training prompt
        trained_text = "\n".join(m["content"] for r in task_data for m in r["messages"])
        trained_text += "\n".join(p for (p,) in sql(db_url, """SELECT t.prompt FROM turns t JOIN episodes e
                                   ON e.id = t.episode_id WHERE e.run_id = ? AND e.split = 'train'""", unit.run_id))
        for (first_prompt,) in sql(db_url, """SELECT t.prompt FROM turns t JOIN episodes e ON e.id = t.episode_id
                                     WHERE e.run_id = ? AND e.split = 'eval' AND t."index" = 0""", unit.run_id):
            assert first_prompt not in trained_text


def test_same_tasks_across_arms_and_resume_adds_nothing(tiny_experiment):
    exp, units, db_url, _ = tiny_experiment
    plans = [sql(db_url, "SELECT epoch, split, task_family, task_seed FROM episodes WHERE run_id = ? ORDER BY id",
                  u.run_id) for u in units]
    assert plans[0] == plans[1]  # every arm of a seed sees the same task instances
    counts = sql(db_url, "SELECT (SELECT COUNT(*) FROM turns), (SELECT COUNT(*) FROM training_rounds)")
    again = exp.run("tiny", ARMS, [0], EPOCHS)
    assert [u.run_id for u in again] == [u.run_id for u in units]
    assert sql(db_url, "SELECT (SELECT COUNT(*) FROM turns), (SELECT COUNT(*) FROM training_rounds)") == counts


def test_cells_together_give_the_same_answers(tiny_experiment, vllm_engine, tmp_path):
    """Stepped together (one generate for both arms' episodes, each with its adapter and seeds), the
    experiment stores the same answers, rounds and evaluations as one cell after another."""
    _, units, db_url, _ = tiny_experiment
    _, together, together_url, _ = _experiment(vllm_engine, tmp_path, 1, "together")
    turns = """SELECT e.epoch, e.split, e.task_family, e.task_seed, t."index", t.answer, t.adapter_version
               FROM turns t JOIN episodes e ON e.id = t.episode_id WHERE e.run_id = ? AND e.epoch <= 1
               ORDER BY e.epoch, e.split, e.task_family, e.task_seed, t."index" """
    evaluations = "SELECT epoch, aligned_rate, hack_rate, capability FROM evaluations WHERE run_id = ? AND epoch <= 1"
    rounds = "SELECT version, n_pairs, n_task, steps FROM training_rounds WHERE run_id = ? AND version <= 1"
    for one, both in zip(units, together, strict=True):
        assert (one.arm, one.seed) == (both.arm, both.seed)
        for query in (turns, evaluations, rounds):
            expected = sql(db_url, query, one.run_id)
            assert expected and sql(together_url, query, both.run_id) == expected, (one.arm, query)
