"""One run's two phases in one loop (`agentloop experiment --overlap`): its held-out episodes of epoch 1 and
its training episodes of epoch 2 stepped together as two cells store the rows they store one after the
other, in fewer policy calls. On the hashed stand-in model (answers by a hash of the prompt, so any batch
gives the same answer); tests/experiment/test_overlap.py checks a whole experiment on the fp32 engine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from _hashed import ROWS, HashedModel
from agentloop.core.paths import repo_root

SMOKE = repo_root() / "scenarios" / "smoke.yaml"
PHASES = ((1, "eval"), (2, "train"))


class CountingModel(HashedModel):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def generate(self, prompts, sampling, adapter=None):
        self.calls.append(len(prompts))
        return super().generate(prompts, sampling, adapter)


def _two_phases(db: Path, engine):
    """A fresh store whose run has episodes planned for both phases, and a runner per phase."""
    from agentloop.launch import make_judge_for, plan_episodes, runner_options, task_resolver
    from agentloop.runner import Runner
    from agentloop.sandbox import get_sandbox
    from agentloop.config.scenario import load_scenario
    from store.recorder import Recorder
    from store.session import open_store

    scenario = load_scenario(SMOKE)
    store = open_store(f"sqlite:///{db}")
    store.upgrade()
    rec = Recorder(store)
    run_id = rec.create_run(name="overlap", scenario_path=str(SMOKE), scenario_yaml="", config={},
                            model="hashed", backend="hashed", seed=0, command="test")
    runners = []
    for epoch, split in PHASES:
        rec.plan_episodes(run_id, plan_episodes(scenario, epoch, split), epoch=epoch, split=split)
        runners.append(Runner(runner_options(scenario, seed=epoch), rec, engine, get_sandbox("auto"),
                              make_judge_for(scenario, engine), task_resolver(scenario)))
    return runners, run_id


def _stored(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as con:
        rows = {name: con.execute(sql).fetchall() for name, sql in ROWS.items()}
        rows["phases"] = con.execute("SELECT epoch, split, COUNT(*) FROM episodes GROUP BY epoch, split").fetchall()
    return rows


def test_two_phases_of_one_run_together_store_the_rows_of_one_after_another(tmp_path):
    from agentloop.cells import Cell, run_cells

    apart_model, together_model = CountingModel(), CountingModel()
    runners, run_id = _two_phases(tmp_path / "apart.db", apart_model)
    for runner, (epoch, split) in zip(runners, PHASES):
        runner.run(run_id, epoch=epoch, split=split)
    runners, run_id = _two_phases(tmp_path / "together.db", together_model)
    run_cells([Cell(runner, run_id, epoch, split) for runner, (epoch, split) in zip(runners, PHASES)])

    apart, together = _stored(tmp_path / "apart.db"), _stored(tmp_path / "together.db")
    assert apart["turns"] and sorted(apart["phases"]) == sorted(together["phases"])
    assert {(e, s) for e, s, _n in apart["phases"]} == set(PHASES)
    for name in ROWS:
        assert together[name] == apart[name], name
    assert sum(together_model.calls) == sum(apart_model.calls), "every policy turn asked once either way"
    assert len(together_model.calls) < len(apart_model.calls), "in fewer, fuller calls"
