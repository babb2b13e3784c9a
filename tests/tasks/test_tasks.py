"""The task suite loads, renders every instance fully, deterministically, and differently per seed."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from agentloop.core.errors import ConfigError
from agentloop.config.tasks import TaskSelection
from agentloop.core.constants import EVAL_SEED_BASE
from agentloop.tasks import default_root, load_families, select_tasks

FAMILIES = load_families()
SEEDS = range(5)


def all_text(task) -> str:
    parts = [task.title, task.spec, task.starter, *task.visible_tests.values(), hidden_text(task),
             *task.files.values(), *task.references.values()]
    return "\n".join(parts)


def hidden_text(task) -> str:
    return "\n".join([task.hidden_cases.setup, *(f"{c.expr} {c.expected!r} {c.raises}" for c in task.hidden_cases.cases)])


def test_suite_size_and_kinds():
    kinds = Counter(f.kind for f in FAMILIES.values())
    assert len(FAMILIES) >= 22
    assert kinds["honest"] >= 7 and kinds["impossible"] >= 7 and kinds["insecure"] >= 7


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_instances_render_completely(name):
    for seed in SEEDS:
        task = FAMILIES[name].instance(seed)
        assert "{{" not in all_text(task), "a placeholder was left unrendered"
        assert task.family == name and task.seed == seed and task.kind == FAMILIES[name].kind
        assert task.spec.strip() and task.starter.strip() and task.visible_tests and task.hidden_cases.cases
        assert set(task.references) == set(task.expected) and task.expected["honest"] == []
        compile(task.starter, "starter.py", "exec")
        for code in [*task.visible_tests.values(), task.hidden_cases.setup, task.references["honest"]]:
            compile(code, name, "exec")
        for case in task.hidden_cases.cases:
            compile(case.expr, name, "eval")


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_deterministic_and_seed_dependent(name):
    family = FAMILIES[name]
    assert family.instance(3) == family.instance(3)
    if family.spec.params:
        assert len({all_text(family.instance(seed)) for seed in range(8)}) > 1


def test_references_cover_the_hack_variety():
    refs = {ref for family in FAMILIES.values() for ref in family.spec.expected}
    assert {"hack_conftest", "hack_exit", "hack_eq", "hack_frames", "hack_clock", "hack_skip", "hack_call_count",
            "hack_monkeypatch", "hack_read_tests", "hack_edit_tests", "hack_lookup", "hack_special_case"} <= refs
    multi_file = FAMILIES["run_length"].instance(0).references["hack_conftest"]
    assert "# file: conftest.py" in multi_file and "def pytest_runtest_makereport" in multi_file


def copy_family(tmp_path: Path, name: str = "roman_numerals") -> Path:
    root = tmp_path / "tasks"
    shutil.copytree(default_root() / name, root / name)
    return root


def test_malformed_family_yaml_names_file_and_field(tmp_path):
    root = copy_family(tmp_path)
    yaml_path = root / "roman_numerals" / "family.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("kind: honest", "kind: sneaky"))
    with pytest.raises(ConfigError) as err:
        load_families(root)
    assert str(yaml_path) in str(err.value) and "kind" in str(err.value) and "line 2" in str(err.value)


def test_unknown_placeholder_names_file(tmp_path):
    root = copy_family(tmp_path)
    spec = root / "roman_numerals" / "spec.md"
    spec.write_text(spec.read_text() + "\n{{nope}}\n")
    with pytest.raises(ConfigError, match=r"spec\.md.*nope"):
        load_families(root)["roman_numerals"].instance(0)


def test_missing_hidden_cases_file_is_an_error(tmp_path):
    root = copy_family(tmp_path)
    (root / "roman_numerals" / "hidden_cases.yaml").unlink()
    with pytest.raises(ConfigError) as err:
        load_families(root)
    assert str(root / "roman_numerals" / "family.yaml") in str(err.value) and "hidden_cases.yaml" in str(err.value)


@pytest.mark.parametrize("case, field", [
    ('  - {expr: "to_roman(1)"}\n', "cases.17: a case needs exactly one of `expected` and `raises`"),
    ('  - {expr: "to_roman(1", expected: I}\n', "cases.17.expr: not a Python expression"),
    ('  - {expr: "to_roman(1)", expected: 2024-01-01}\n', "cases.17.expected: must be plain data"),
    ('  - {expr: "to_roman(1)", raises: "not a name"}\n', "cases.17.raises: must be an exception class name"),
    ('  - {expr: "to_roman(1)", expectd: I}\n', "cases.17.expectd: unknown field"),
    ('  - {expr: "to_roman(1)", raises: ValueError, approx: 0.1}\n', "cases.17: `approx` applies to `expected`"),
])
def test_malformed_hidden_case_names_file_line_and_field(tmp_path, case, field):
    root = copy_family(tmp_path)
    cases = root / "roman_numerals" / "hidden_cases.yaml"
    lines = len(cases.read_text().splitlines())
    cases.write_text(cases.read_text() + case)
    with pytest.raises(ConfigError) as err:
        load_families(root)
    assert str(err.value).startswith(f"{cases}, line {lines + 1}: {field}"), str(err.value)


def test_missing_reference_file_is_an_error(tmp_path):
    root = copy_family(tmp_path)
    (root / "roman_numerals" / "solutions" / "hack_lookup.py").unlink()
    with pytest.raises(ConfigError, match="expected"):
        load_families(root)


def test_select_tasks_keeps_train_and_eval_apart():
    sel = TaskSelection(instances_per_family=2, holdout_families=["calculator", "sum_even"], eval_instances_per_family=2)
    train = select_tasks(sel, seed=7, split="train")
    evals = select_tasks(sel, seed=7, split="eval")
    assert {t.family for t in evals} == {"calculator", "sum_even"}
    assert not {t.family for t in train} & {"calculator", "sum_even"}
    assert len(train) == 2 * (len(FAMILIES) - 2) and len(evals) == 4
    assert all(t.seed < EVAL_SEED_BASE for t in train) and all(t.seed >= EVAL_SEED_BASE for t in evals)
    assert [t.instance_id for t in train] == [t.instance_id for t in select_tasks(sel, seed=7, split="train")]


def test_select_tasks_without_holdout_uses_disjoint_seeds():
    sel = TaskSelection(families=["slugify", "calculator"], kinds=["insecure"], seeds=[4, 5])
    train = select_tasks(sel, seed=0, split="train")
    evals = select_tasks(sel, seed=0, split="eval")
    assert sorted(t.instance_id for t in train) == ["calculator/s4", "calculator/s5"]
    assert {t.family for t in evals} == {"calculator"}
    assert not {t.instance_id for t in train} & {t.instance_id for t in evals}
