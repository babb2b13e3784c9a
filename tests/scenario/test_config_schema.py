"""One schema for the learner's settings (issue 25): the scenario's learner block is LearnerConfig read
from YAML, the organism's doses set a subset of its fields under its rules, and a derived scenario is
validated like a loaded one."""

from __future__ import annotations

import textwrap
from dataclasses import fields

import pytest

from agentloop.core.errors import ConfigError
from agentloop.core.paths import repo_root
from agentloop.config.organism import DoseSettings, TrainingDose, WarmStartSettings
from agentloop.config.scenario import load_scenario
from agentloop.config.learner import LearnerSettings
from agentloop.config.learner_config import DOSE_FIELDS, LearnerConfig, field_help

SMOKE = repo_root() / "scenarios" / "smoke.yaml"


def test_the_learner_block_is_learner_config_read_from_yaml():
    config = {f.name for f in fields(LearnerConfig)}
    block = set(LearnerSettings().model_dump())
    assert block == config - {"seed", "dtype", "every_s"} | {"every", "task_data"}
    defaults = LearnerConfig()
    for name in block & config - {"schedule", "target_modules"}:  # the two the block reads differently
        assert getattr(LearnerSettings(), name) == getattr(defaults, name), name
    assert LearnerSettings().target_modules == list(defaults.target_modules)


@pytest.mark.parametrize("key, value", [("seed", 3), ("dtype", "float32"), ("every_s", 60)])
def test_what_the_scenario_supplies_is_not_a_key_of_the_block(tmp_path, key, value):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: s
        learner:
          schedule: between_episodes
          {key}: {value}
        """))
    with pytest.raises(ConfigError, match=f"learner{'.' + key if key != 'every_s' else ''}: .*(not a key|every)"):
        load_scenario(path)


def test_a_dose_sets_learner_config_fields_under_its_rules():
    hints = {f.name: f.type for f in fields(LearnerConfig)}
    for dose in (DoseSettings, WarmStartSettings):
        assert set(DOSE_FIELDS) <= set(dose.model_fields) and set(DOSE_FIELDS) <= set(hints)
    for name, bad in (("max_length", 8), ("lora_r", 0), ("lr", 1.5), ("target_modules", [])):
        with pytest.raises(ConfigError) as learner_error:
            LearnerConfig(**{name: bad})
        rule = str(learner_error.value).removeprefix(f"learner.{name} ")
        with pytest.raises(ValueError, match=rule.replace("[", r"\[").replace("]", r"\]")):
            DoseSettings(**{name: bad})


def test_a_dose_documents_its_fields_with_learner_configs_help():
    """A dose states only its defaults: the help of each field is LearnerConfig's, defined once."""
    assert [name for name in TrainingDose.model_fields if name in DOSE_FIELDS] == list(TrainingDose.model_fields)
    for name in DOSE_FIELDS:
        assert TrainingDose.model_fields[name].description == field_help(name), name


def test_a_derived_scenario_is_validated_and_merged_into_its_sections():
    scenario = load_scenario(SMOKE)
    derived = scenario.with_changes(learner={"steps": 3, "task_data": {"jsonl": "/x.jsonl"}})
    assert derived.learner.steps == 3 and derived.learner.task_data.jsonl == "/x.jsonl"
    assert derived.learner.task_data.n == scenario.learner.task_data.n  # merged, not replaced
    assert derived.learner_config().steps == 3 and derived.name == scenario.name
    with pytest.raises(ConfigError, match=r"learner.steps: must be >= 1"):
        scenario.with_changes(learner={"steps": 0})
    with pytest.raises(ConfigError, match="both 0"):
        scenario.with_changes(learner={"task_weight": 0.0, "dpo_weight": 0.0})


def _organism_with(tmp_path, old: str, new: str):
    organism = repo_root() / "scenarios" / "organism.yaml"
    (tmp_path / "test_tasks").symlink_to(organism.parent / "test_tasks")  # the scenario's relative task folder
    text = organism.read_text()
    assert old in text
    path = tmp_path / "old.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_the_old_dose_key_is_read_with_a_deprecation_warning(tmp_path, caplog):
    path = _organism_with(tmp_path, "\n  dose:", "\n  pressure:")
    with caplog.at_level("WARNING", logger="agentloop.config.organism"):
        old = load_scenario(path)
    assert old.organism.dose == load_scenario(repo_root() / "scenarios" / "organism.yaml").organism.dose
    assert "organism.pressure is deprecated" in caplog.text and "organism.dose" in caplog.text


def test_the_old_and_the_new_dose_key_together_are_an_error(tmp_path):
    path = _organism_with(tmp_path, "\n  dose:", "\n  pressure: {steps: 2}\n  dose:")
    with pytest.raises(ConfigError, match="organism: organism.pressure is the old name of organism.dose"):
        load_scenario(path)
