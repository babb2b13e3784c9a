"""The configuration snapshot: shared settings once, then per arm and per run what differs, and every run's
configuration can still be read back from the page."""

from __future__ import annotations

import yaml

from agentloop.report import RunInfo
from agentloop.report_config import config_snapshot_markdown, flatten, unflatten


def _run(run_id: int, arm: str | None, seed: int, mode: str) -> RunInfo:
    config = {"name": "organism", "seed": seed, "conscience": {"mode": mode, "judge": "self"},
              "tasks": {"families": ["a", "b"]}, "provenance": {"commit": "abc"}}
    return RunInfo(id=run_id, name=f"organism/{arm}/s{seed}", arm=arm, seed=seed, status="done", model="embedded",
                   backend="vllm", command=None, scenario_path=None, config=config)


def test_flatten_round_trips_and_keeps_lists_whole() -> None:
    config = {"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x", "f": {}}
    assert flatten(config) == {"a.b": 1, "a.c.d": [1, 2], "e": "x", "f": {}}
    assert unflatten(flatten(config)) == config


def test_shared_settings_once_then_arm_then_run() -> None:
    runs = [_run(2, "off", 0, "off"), _run(3, "self", 0, "observe"),
            _run(4, "off", 1, "off"), _run(5, "self", 1, "observe")]
    text = "\n".join(config_snapshot_markdown(runs))
    shared = yaml.safe_load(text.split("```yaml")[1].split("```")[0])
    assert shared == {"name": "organism", "conscience": {"judge": "self"}, "tasks": {"families": ["a", "b"]},
                      "provenance": {"commit": "abc"}}
    assert "Runs 2, 4 (arm `off`) also set:" in text and "conscience.mode: 'off'" in text
    assert "Runs 3, 5 (arm `self`) also set:" in text and "conscience.mode: observe" in text
    assert "- run 4: `seed: 1`" in text and "- run 3: `seed: 0`" in text
    assert text.count("families") == 1  # not repeated per run


def test_a_key_only_some_runs_have_is_shown_unset_for_the_others() -> None:
    a, b = _run(2, None, 0, "off"), _run(3, None, 0, "off")
    b.config["learner"] = {"steps": 8}
    text = "\n".join(config_snapshot_markdown([a, b]))
    assert "- run 2: `learner.steps: (unset)`" in text and "- run 3: `learner.steps: 8`" in text


def test_one_run_shows_its_whole_configuration() -> None:
    run = _run(7, "self", 0, "observe")
    lines = config_snapshot_markdown([run])
    assert lines[0] == "Run 7:"
    assert yaml.safe_load("\n".join(lines).split("```yaml")[1].split("```")[0]) == run.config
