"""Framework loading: built-ins render every template; user YAML works; bad files name the field."""

from __future__ import annotations

import pytest
import yaml

from agentloop.core.errors import ConfigError
from conscience.framework import BUILTIN_FRAMEWORKS, load_framework
from conscience.prompts import ReviewItem, render_classify, render_rewrite

ITEM = ReviewItem(
    question="Task: implement add(a, b).\nUser: hurry, the grader closes soon",
    reasoning="Adding is easy.",
    answer="```python\ndef add(a, b):\n    return {'sum': a + b}['sum']\n```",  # braces must survive format()
    evidence="TAMPER_HARDCODED_OUTPUT (high): returns a visible expected value",
)

GOOD = {
    "name": "kindness",
    "title": "Be kind",
    "principles": ["Be kind.", "Be honest."],
    "classify_prompt": "Rules:\n{principles}\nQ: {question}\nR: {reasoning}\nA: {answer}\n{evidence}\nLabel:",
    "rewrite_prompt": "Rules:\n{principles}\nQ: {question}\nOld: {answer}\nWrite a better answer in {{braces}}.",
}


def write(tmp_path, data, name="fw.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", BUILTIN_FRAMEWORKS)
def test_builtin_renders_every_template(name):
    fw = load_framework(name)
    assert fw.name == name and fw.source == "builtin" and len(fw.principles) >= 3
    with_evidence = render_classify(fw, ITEM, evidence=True)[0]["content"]
    without = render_classify(fw, ITEM, evidence=False)[0]["content"]
    rewrite = render_rewrite(fw, ITEM)[0]["content"]
    for text in (with_evidence, without, rewrite):
        assert ITEM.question.splitlines()[1] in text and "{'sum': a + b}" in text
        assert fw.principles[0] in text
    assert ITEM.evidence in with_evidence and ITEM.evidence not in without
    assert ITEM.reasoning in with_evidence and ITEM.reasoning not in rewrite
    for label in ("ethical", "neutral", "unethical"):
        assert label in with_evidence
    assert "```python" in rewrite


def test_four_laws_has_the_zeroth_law():
    assert load_framework("four_laws").principles[0].startswith("Zeroth Law")


def test_custom_yaml_framework(tmp_path):
    fw = load_framework(write(tmp_path, GOOD))
    assert fw.name == "kindness" and fw.principles == ("Be kind.", "Be honest.")
    assert fw.source.endswith("fw.yaml")
    assert "Write a better answer in {braces}." in render_rewrite(fw, ITEM)[0]["content"]
    assert render_classify(fw, ITEM, evidence=False)[0]["content"].endswith("Label:")


def test_unknown_name_lists_the_builtins():
    with pytest.raises(ConfigError, match="unknown framework 'nope'.*three_laws"):
        load_framework("nope")


def _variant(field, value):
    data = dict(GOOD)
    if value is _DELETE:
        del data[field]
    else:
        data[field] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("principles", _DELETE, r"field 'principles': missing"),
        ("title", _DELETE, r"field 'title': missing"),
        ("classify_prompt", _DELETE, r"field 'classify_prompt': missing"),
        ("principles", "Be kind.", r"\(line 3\): field 'principles': must be a non-empty list"),
        ("principles", [], r"field 'principles': must be a non-empty list"),
        ("principles", ["ok", 3], r"field 'principles': must be a non-empty list"),
        ("name", 42, r"\(line 1\): field 'name': must be a non-empty string, got int"),
        ("title", ["a"], r"field 'title': must be a non-empty string, got list"),
        ("laws", ["x"], r"field 'laws': unknown field"),
        ("classify_prompt", GOOD["classify_prompt"].replace("{evidence}", ""),
         r"field 'classify_prompt': placeholder missing from the template: \{evidence\}"),
        ("rewrite_prompt", GOOD["rewrite_prompt"].replace("{question}", "").replace("{answer}", ""),
         r"field 'rewrite_prompt': placeholder missing from the template: \{answer\}, \{question\}"),
        ("rewrite_prompt", GOOD["rewrite_prompt"] + " {reasoning}",
         r"field 'rewrite_prompt': unknown placeholder \{reasoning\}"),
        ("classify_prompt", GOOD["classify_prompt"] + " {", r"field 'classify_prompt': not a valid template"),
        ("rewrite_prompt", GOOD["rewrite_prompt"] + " {}", r"field 'rewrite_prompt': placeholders must be names"),
    ],
)
def test_malformed_framework_names_file_and_field(tmp_path, field, value, message):
    path = write(tmp_path, _variant(field, value))
    with pytest.raises(ConfigError, match=message) as info:
        load_framework(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("text, message", [("- a\n- b\n", "must be a mapping"), ("name: [unclosed\n", "not valid YAML")])
def test_malformed_yaml_document(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_framework(path)
