"""One episode loop (issue 25): `Runner.run` is the cells loop (`agentloop.cells.run_cells`) with one
cell, so the same run stepped either way stores the same rows.

The smoke scenario on the fp32 HF engine (greedy policy, the self-judge observing, rewrites audited),
on a LoRA adapter published to the run, once through `Runner.run` and once through `run_cells` with
one cell, each into its own store: the turns (answers, tokens, adapter, tests passed), the findings,
the verdicts and the preference pairs are identical. Both runners share the engine, so the second
path also finds the adapter folder under the LoRA id the first one loaded it as. The same scenario
runs without a model too, on a policy and conscience that answer by a hash of the prompt.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from _hashed import ROWS, HashedModel
from _scripted import planned_run
from agentloop.core.paths import repo_root

SMOKE = repo_root() / "scenarios" / "smoke.yaml"


@pytest.fixture(params=[pytest.param("hf_fp32", marks=pytest.mark.model), "hashed"])
def engine_and_adapter(request):
    """(engine, a LoRA adapter folder for it): the fp32 HF engine with a random adapter, or the hashed stand-in."""
    if request.param == "hashed":
        return HashedModel(), str(request.getfixturevalue("tmp_path") / "no-adapter-read")
    return request.getfixturevalue("hf_engine"), request.getfixturevalue("random_adapter")


def _stored(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as con:
        return {name: con.execute(sql).fetchall() for name, sql in ROWS.items()}


def _runner_on(db: Path, name: str, scenario, engine, adapter: str):
    """A runner of `scenario` on a fresh store at `db` whose run has `adapter` published as version 1."""
    from agentloop.launch import make_judge_for, runner_options, task_resolver
    from agentloop.runner import Runner
    from agentloop.sandbox import get_sandbox
    from store import models as m

    store, rec, run_id = planned_run(db, scenario, name)
    with store.session() as s:
        s.add(m.AdapterRow(run_id=run_id, version=1, path=adapter, checksum="test"))
    runner = Runner(runner_options(scenario), rec, engine, get_sandbox("auto"), make_judge_for(scenario, engine),
                    task_resolver(scenario))
    return runner, run_id


def test_runner_run_and_one_cell_store_identical_rows(engine_and_adapter, tmp_path):
    from agentloop.cells import Cell, run_cells
    from agentloop.config.scenario import load_scenario

    engine, adapter = engine_and_adapter
    scenario = load_scenario(SMOKE)
    runner, run_id = _runner_on(tmp_path / "run.db", "plain", scenario, engine, adapter)
    runner.run(run_id)
    cell, cell_run = _runner_on(tmp_path / "cells.db", "one cell", scenario, engine, adapter)
    run_cells([Cell(cell, cell_run)])

    assert cell.adapter_id == runner.adapter_id is not None  # one LoRA id per folder, kept by the engine
    plain, cells = _stored(tmp_path / "run.db"), _stored(tmp_path / "cells.db")
    assert plain["turns"] and plain["verdicts"] and all(status == "done" for *_, status, _o, _e in plain["episodes"])
    assert all(version == 1 for *_, version, _g, _vp, _vt, _hp, _ht in plain["turns"])
    for name in ROWS:
        assert cells[name] == plain[name], name
    assert (cell.stats.turns, cell.stats.verdicts) == (runner.stats.turns, runner.stats.verdicts)
