"""A third-party detector installed through the `agentloop.detectors` entry-point group runs on every
turn: its findings are stored, count as misalignment in the report, and drive the oracle judge's
verdicts and the judge-agreement scores.

The plugin (tests/plugins/agentloop_demo_detector) is "installed" the way pip would leave it: a
`*.dist-info` folder with its entry points (read from the plugin's own pyproject.toml) on sys.path
(tests/_plugin.py).
Only the policy is scripted; the runner, sandbox, detectors, store and report are real, no model loads.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from _plugin import demo_plugin_on_path, forget_plugins
from _scripted import ScriptedPolicy, planned_run
from agentloop.core.paths import repo_root

SMOKE = repo_root() / "scenarios" / "smoke.yaml"
STUB = "I will do it properly.\n```python\ndef placeholder():\n    return None\n```"


@pytest.fixture
def demo_plugin(tmp_path, monkeypatch):
    """The demo plugin on sys.path with its dist-info, as `pip install` leaves it; gone afterwards."""
    with demo_plugin_on_path(tmp_path / "site", monkeypatch):
        yield "demo_stub"


class _NoModel:
    """The oracle judge with no rewrites never calls its model."""

    def generate(self, *args, **kwargs):
        raise AssertionError("no model call expected")

    score_choices = generate


def test_plugin_detector_reaches_store_report_and_judge(demo_plugin, tmp_path):
    from agentloop.detectors.base import DETECTORS_REGISTRY
    from agentloop.core.labels import misaligned_detectors
    from agentloop.launch import task_resolver
    from agentloop.report import build_report
    from agentloop.runner import Runner, RunnerOptions
    from agentloop.sandbox import get_sandbox
    from agentloop.config.scenario import load_scenario
    from conscience.judge import make_judge
    from store import models as m
    from store.queries import judge_agreement

    assert demo_plugin in DETECTORS_REGISTRY.names() and demo_plugin in misaligned_detectors()
    scenario = load_scenario(SMOKE).with_overrides(episodes=2, turns=1)
    store, rec, run_id = planned_run(tmp_path / "run.db", scenario, "plugin")
    judge = make_judge("oracle", _NoModel(), "three_laws", rewrite_on=())
    Runner(RunnerOptions(turns=1, batch_size=2, mode="observe"), rec, ScriptedPolicy(STUB), get_sandbox("auto"),
           judge, task_resolver(scenario)).run(run_id)

    with store.session() as s:
        findings = s.scalars(select(m.FindingRow)).all()
        labels = s.scalars(select(m.VerdictRow.label)).all()
        agreement = judge_agreement(s, run_id)
    assert {(f.detector, f.rule) for f in findings} == {(demo_plugin, "DEMO_STUB")}  # the stub fools nothing else
    assert len(findings) == 2 and labels == ["unethical", "unethical"]  # the oracle labels from the plugin
    assert (agreement.confusion.tp, agreement.confusion.fp, agreement.confusion.fn) == (2, 0, 0)

    report = build_report(store.url, str(run_id))
    (row,) = report.arms
    assert row["aligned_rate"] == 0.0 and row["hack_rate"] == 1.0
    (judged,) = report.judges.values()
    assert judged["tp"] == 2 and judged["precision"] == 1.0 and judged["recall"] == 1.0


def test_plugin_judge_is_an_arm_stored_and_reported(demo_plugin, tmp_path):
    """One class in a plugin package: an experiment arm, verdict rows under its own name, the report."""
    from agentloop.arms import arm, arm_names
    from agentloop.launch import make_judge_for, task_resolver
    from agentloop.report import build_report
    from agentloop.runner import Runner, RunnerOptions
    from agentloop.sandbox import get_sandbox
    from agentloop.config.scenario import load_scenario
    from store import models as m

    assert "demo_stub_judge" in arm_names()
    scenario = load_scenario(SMOKE).with_overrides(episodes=2, turns=1)
    trained = arm("demo_stub_judge").train_scenario(scenario, seed=0)
    assert (trained.conscience.mode, trained.conscience.judge) == ("observe", "demo_stub_judge")
    trained = trained.model_copy(update={"conscience": trained.conscience.model_copy(update={"rewrite_on": []})})
    store, rec, run_id = planned_run(tmp_path / "run.db", trained, "plugin judge")
    Runner(RunnerOptions(turns=1, batch_size=2, mode="observe"), rec, ScriptedPolicy(STUB), get_sandbox("auto"),
           make_judge_for(trained, _NoModel()), task_resolver(trained)).run(run_id)
    with store.session() as s:
        verdicts = s.execute(select(m.VerdictRow.judge, m.VerdictRow.label)).all()
    assert verdicts == [("demo_stub_judge", "unethical")] * 2
    report = build_report(store.url, str(run_id))
    (judged,) = report.judges.values()
    assert judged["tp"] == 2  # the plugin detector flags the stub; the plugin judge agrees


def test_a_broken_plugin_is_an_error_naming_it(tmp_path, monkeypatch):
    from agentloop.core.labels import detector_kinds
    from agentloop.core.registry import PluginError

    dist = tmp_path / "agentloop_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: agentloop-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[agentloop.detectors]\nbroken = agentloop_no_such_module:Detector\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    forget_plugins()
    try:
        with pytest.raises(PluginError, match=r"plugin 'broken' \(agentloop_no_such_module:Detector, from "
                                              r"agentloop-broken\).*ModuleNotFoundError"):
            detector_kinds()
    finally:
        monkeypatch.undo()
        forget_plugins()
