"""A cell's `runs.status` says how it ended while the rest of its experiment runs: done once its epochs are,
interrupted (Ctrl-C) or failed (an error) where the invocation stopped first, and running again on --resume.

The cells' work is replaced by a stand-in (`_run_cell`), so only the bookkeeping around it runs: the real store
file, the real scenario and `Experiment.units`/`run`. The real cells' statuses are checked end to end in
test_experiment_e2e.py.
"""

from __future__ import annotations

import pytest

from _evaluation_sql import sql
from agentloop.core.errors import AgentloopError
from agentloop.core.paths import repo_root

ARMS = ["off", "self", "oracle"]


def _experiment(tmp_path, stop: dict[str, BaseException]):
    """An Experiment on the smoke scenario whose cells do nothing, or raise `stop[arm]`; the cells it saw."""
    from agentloop.config.scenario import load_scenario
    from agentloop.experiment import Experiment
    from store.session import open_store

    class Cells(Experiment):
        seen: list[tuple[str, str]] = []

        def _run_cell(self, unit, plans, epochs, overlap):
            self.seen.append((unit.arm, _status(self.db_url, unit.run_id)))
            if unit.arm in stop:
                raise stop[unit.arm]

    db_url = f"sqlite:///{tmp_path / 'exp.db'}"
    store = open_store(db_url)
    store.upgrade()
    smoke = repo_root() / "scenarios" / "smoke.yaml"
    return Cells(load_scenario(smoke), store, None, db_url=db_url, workdir=tmp_path / "runs", model_path="unused",
                 scenario_path=str(smoke), command="pytest", keep_learner_loaded=False)


def _status(db_url: str, run_id: int) -> str:
    return sql(db_url, "SELECT status FROM runs WHERE id = ?", run_id)[0][0]


def _statuses(db_url: str) -> dict[str, str]:
    return dict(sql(db_url, "SELECT arm, status FROM runs ORDER BY id"))


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt(), "interrupted"),
                                           (AgentloopError("the learner round failed"), "failed")])
def test_a_finished_cell_reads_done_and_the_cells_a_stop_left_say_why(tmp_path, error, status):
    exp = _experiment(tmp_path, {"self": error})
    with pytest.raises(type(error)):
        exp.run("x", ARMS, [0], 1, share_epoch0=False)
    # off finished before self stopped; oracle never began
    assert _statuses(exp.db_url) == {"off": "done", "self": status, "oracle": status}
    assert [arm for arm, _ in exp.seen] == ["off", "self"]

    resumed = _experiment(tmp_path, {})
    resumed.run("x", ARMS, [0], 1, share_epoch0=False)
    assert _statuses(exp.db_url) == dict.fromkeys(ARMS, "done")
    # on resume each cell runs (the real one skips its stored epochs) with its run back to running
    assert resumed.seen == [(arm, "running") for arm in ARMS]


def test_cells_stepped_together_are_done_together(tmp_path, monkeypatch):
    from agentloop.experiment import Experiment

    exp = _experiment(tmp_path, {})
    monkeypatch.setattr(Experiment, "_run_together", lambda self, units, *a: self.seen.extend(
        (u.arm, _status(self.db_url, u.run_id)) for u in units))
    exp.run("x", ARMS, [0], 1, cells="together", share_epoch0=False)
    assert exp.seen == [(arm, "running") for arm in ARMS]
    assert _statuses(exp.db_url) == dict.fromkeys(ARMS, "done")
