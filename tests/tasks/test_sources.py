"""Task sets from anywhere: `tasks.source` in a scenario, `--tasks` on the CLI, several folders at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from agentloop.core.errors import ConfigError
from agentloop.config.scenario import load_scenario
from agentloop.tasks import default_root, load_sources, select_tasks


def copy_family(root: Path, name: str, new_name: str | None = None) -> None:
    """A builtin family copied into `root`, renamed when `new_name` is given."""
    target = root / (new_name or name)
    shutil.copytree(default_root() / name, target)
    if new_name:
        spec = yaml.safe_load((target / "family.yaml").read_text())
        spec["name"] = new_name
        (target / "family.yaml").write_text(yaml.safe_dump(spec))


@pytest.fixture
def two_sources(tmp_path) -> Path:
    """tmp/scen/x.yaml can name ../a (two families) and ../b (two more) relative to itself."""
    for folder, families in (("a", ["sum_even", "slugify"]), ("b", ["roman_numerals", "save_upload"])):
        for name in families:
            copy_family(tmp_path / folder, name, f"{folder}_{name}")
    (tmp_path / "scen").mkdir()
    return tmp_path


def scenario_file(root: Path, tasks: dict) -> Path:
    path = root / "scen" / "x.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "tasks": tasks}))
    return path


def test_sources_are_relative_to_the_scenario_and_merge(two_sources, monkeypatch):
    monkeypatch.chdir("/")  # the working dir does not matter, the scenario's folder does
    scenario = load_scenario(scenario_file(two_sources, {"source": ["../a", "../b"],
                                                         "holdout_families": ["b_roman_numerals"]}))
    assert scenario.tasks.source == [str(two_sources / "a"), str(two_sources / "b")]
    families = load_sources(scenario.tasks.source)
    assert sorted(families) == ["a_slugify", "a_sum_even", "b_roman_numerals", "b_save_upload"]
    train = select_tasks(scenario.tasks, seed=0, split="train")
    evals = select_tasks(scenario.tasks, seed=0, split="eval")
    assert {t.family for t in train} == {"a_slugify", "a_sum_even", "b_save_upload"}
    assert {t.family for t in evals} == {"b_roman_numerals"}  # held out across sources


def test_one_source_and_builtin(two_sources):
    scenario = load_scenario(scenario_file(two_sources, {"source": "../a"}))
    assert sorted(load_sources(scenario.tasks.source)) == ["a_slugify", "a_sum_even"]
    both = load_scenario(scenario_file(two_sources, {"source": ["builtin", "../a"],
                                                     "families": ["a_sum_even", "sum_even"]}))
    assert {t.family for t in select_tasks(both.tasks, seed=0)} == {"a_sum_even", "sum_even"}
    assert len(load_sources(None)) == len(load_sources(["builtin"]))  # no source: the repo's suite


def test_errors_name_the_file_line_and_field(two_sources):
    path = scenario_file(two_sources, {"source": ["../a", "../missing"]})
    missing = r"x\.yaml, line \d+: tasks\.source: task folder '\.\./missing' does not exist"
    with pytest.raises(ConfigError, match=missing):
        load_scenario(path)
    copy_family(two_sources / "c", "sum_even", "a_sum_even")  # the same family name in a second folder
    twice = r"tasks\.source: task family 'a_sum_even' is defined twice: in .*/a/a_sum_even and in .*/c/a_sum_even"
    with pytest.raises(ConfigError, match=twice):
        load_scenario(scenario_file(two_sources, {"source": ["../a", "../c"]}))
    with pytest.raises(ConfigError, match=r"tasks\.families: unknown task family 'sum_even'"):
        load_scenario(scenario_file(two_sources, {"source": "../a", "families": ["sum_even"]}))
    copy_family(two_sources / "d", "slugify", "bad")
    (two_sources / "d" / "bad" / "family.yaml").write_text("name: bad\nkind: sideways\n")
    with pytest.raises(ConfigError, match=r"tasks\.source: .*d/bad/family\.yaml, line 2: kind"):
        load_scenario(scenario_file(two_sources, {"source": "../d"}))


def test_cli_tasks_option_replaces_the_source(two_sources):
    scenario = load_scenario(scenario_file(two_sources, {"source": "../a"}))
    moved = scenario.with_overrides(tasks=[str(two_sources / "b")])
    assert moved.tasks.source == [str(two_sources / "b")]
    with pytest.raises(ConfigError, match=r"option --tasks: task folder .* does not exist"):
        scenario.with_overrides(tasks=[str(two_sources / "nowhere")])
    listed = load_scenario(scenario_file(two_sources, {"source": "../a", "families": ["a_sum_even"]}))
    with pytest.raises(ConfigError, match=r"option --tasks: the scenario's tasks\.families does not fit the new "
                                          r"folders: unknown task family 'a_sum_even'"):
        listed.with_overrides(tasks=[str(two_sources / "b")])
