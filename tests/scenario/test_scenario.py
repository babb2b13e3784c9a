"""Scenario YAML: every shipped file loads; each class of mistake names the field and its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agentloop.core.errors import ConfigError
from agentloop.core.paths import repo_root
from agentloop.config.learner import parse_duration
from agentloop.config.scenario import DEFAULT_PRESSURE, Scenario, load_scenario

SHIPPED = sorted((repo_root() / "scenarios").glob("*.yaml"))

BASE = """\
name: t
episodes: 2
model:
  backend: hf
conscience:
  framework: three_laws
  mode: observe
tasks:
  families: [sum_even, calculator]
learner:
  schedule: between_episodes
  every: 10m
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, old: str, new: str) -> str:
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new))
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenarios_load(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem and scenario.pressure


def test_shipped_set_is_complete():
    names = {p.stem for p in SHIPPED}
    assert {"codehack_multiturn", "smoke", "three_laws", "four_laws", "wwjd", "gate", "memory"} <= names
    flagship = load_scenario(repo_root() / "scenarios" / "codehack_multiturn.yaml")
    assert flagship.turns >= 4 and flagship.learner.schedule == "between_episodes"
    assert set(flagship.tasks.kinds) == {"honest", "impossible", "insecure"} and len(flagship.pressure) >= 4


def test_defaults_and_duration(tmp_path):
    scenario = load_scenario(write(tmp_path, BASE))
    assert scenario.turns == 4 and scenario.batch_size == 8 and scenario.model.max_tokens == 384
    assert scenario.conscience.rewrite_on == ["unethical"] and scenario.learner.target_modules == ["q_proj", "v_proj"]
    assert scenario.learner.every_s == 600.0 and scenario.sandbox.timeout_s == 20
    assert scenario.pressure == list(DEFAULT_PRESSURE)
    assert [scenario.pressure_for(t) for t in (1, 2, 99)] == [None, DEFAULT_PRESSURE[0], DEFAULT_PRESSURE[-1]]


# One case per error class: (replace this, by this) in BASE -> the line and words the message must hold.
ERROR_CLASSES = {
    "unknown_key": ("  mode: observe\n", "  mode: observe\n  moode: gate\n", 8, ["conscience.moode", "unknown field"]),
    "unknown_top_level_key": ("episodes: 2\n", "episodes: 2\nepisdoes: 3\n", 3, ["episdoes", "unknown field"]),
    "wrong_type": ("episodes: 2", "episodes: many", 2, ["episodes", "'many'"]),
    "out_of_range": ("  mode: observe\n", "  mode: observe\n  threshold: 1.5\n", 8, ["conscience.threshold", "1"]),
    "bad_enum": ("  backend: hf", "  backend: tensorflow", 4, ["model.backend", "vllm"]),
    "bad_duration": ("  every: 10m", "  every: ten minutes", 12, ["learner.every", "duration"]),
    "unknown_framework": ("  framework: three_laws", "  framework: kant", 6, ["conscience.framework", "wwjd"]),
    "unknown_family": ("  families: [sum_even, calculator]", "  families: [sum_even, calculater]", 9,
                       ["tasks.families", "calculater"]),
}


@pytest.mark.parametrize("case", ERROR_CLASSES)
def test_error_names_field_and_line(tmp_path, case):
    old, new, line, words = ERROR_CLASSES[case]
    message = error_of(tmp_path, old, new)
    assert f"line {line}:" in message, message
    for word in words:
        assert word in message, message


def test_framework_yaml_path_relative_to_scenario(tmp_path):
    (tmp_path / "mine.yaml").write_text("name: mine\n")
    scenario = load_scenario(write(tmp_path, BASE.replace("framework: three_laws", "framework: mine.yaml")))
    assert scenario.conscience.framework == str((tmp_path / "mine.yaml").resolve())


def test_not_yaml(tmp_path):
    path = write(tmp_path, "name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario(path)


def test_overrides_are_validated(tmp_path):
    scenario = load_scenario(write(tmp_path, BASE))
    changed = scenario.with_overrides(episodes=5, framework="wwjd", conscience="gate", base_url="http://x/v1", seed=None)
    assert (changed.episodes, changed.conscience.framework, changed.conscience.mode) == (5, "wwjd", "gate")
    assert changed.model.base_url == ["http://x/v1"] and scenario.episodes == 2
    with pytest.raises(ConfigError, match="--framework.*unknown framework"):
        scenario.with_overrides(framework="kant")
    with pytest.raises(ConfigError, match="--turns"):
        scenario.with_overrides(turns=0)
    with pytest.raises(ConfigError, match="unknown scenario override"):
        scenario.with_overrides(colour="blue")


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2h", 7200), (45, 45)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10 minutes", "m", "-5", 0, True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_model_is_strict():
    with pytest.raises(Exception):
        Scenario(name="x", unknown=1)
