"""`agentloop experiment` with an organism scenario builds its engine, and hands the Experiment its
model, from the warm-started base (no model loaded: the stage, the engine and the loop are stubs)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agentloop.core.paths import repo_root

ORGANISM = repo_root() / "scenarios" / "organism.yaml"


def test_the_engine_and_every_arm_start_from_the_warm_started_base(tmp_path, monkeypatch):
    import agentloop.experiment
    import agentloop.launch
    import agentloop.model
    import agentloop.organism.stage
    from agentloop.cli.app import app
    import agentloop.cli.experiment  # noqa: F401  (registers the command)

    seen: dict[str, object] = {}

    def fake_warm_start(scenario, store, url, workdir, model_path, *, key, scenario_path, command):
        seen["warm_start"] = (scenario.organism is not None, model_path, key, Path(workdir))
        return "/merged/base"

    class FakeExperiment:
        def __init__(self, scenario, store, engine, **kwargs):
            seen["experiment"] = (engine, kwargs["model_path"])

        def run(self, experiment_id, arms, seeds, epochs, cells, overlap):
            seen["run"] = (experiment_id, arms, seeds, epochs, cells, overlap)
            return []

    monkeypatch.setattr(agentloop.organism.stage, "warm_start", fake_warm_start)
    monkeypatch.setattr(agentloop.launch, "make_engine_for", lambda scenario, path, adapters: f"engine on {path}")
    monkeypatch.setattr(agentloop.model, "resolve_model", lambda name: "/raw/model")
    monkeypatch.setattr(agentloop.experiment, "Experiment", FakeExperiment)
    result = CliRunner().invoke(app, ["experiment", str(ORGANISM), "--epochs", "1", "--arms", "off", "--seeds", "1",
                                      "--db", f"sqlite:///{tmp_path / 'x.db'}", "--workdir", str(tmp_path / "runs"),
                                      "--no-report", "--resume", "org-1", "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.output
    assert seen["warm_start"] == (True, "/raw/model", "org-1", tmp_path / "runs")
    assert seen["experiment"] == ("engine on /merged/base", "/merged/base")
    assert seen["run"] == ("org-1", ["off"], [0], 1, "one_after_another", False)
