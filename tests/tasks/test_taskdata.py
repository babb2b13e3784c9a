"""The round's task data: mixes, ratios, no vulnerability talk, and the external JSONL loader."""

from __future__ import annotations

import json

import pytest

from agentloop.core.errors import ConfigError
from agentloop.taskdata import build_task_dataset, load_messages_jsonl
from agentloop.tasks import load_families

FAMILIES = list(load_families().values())


def test_secure_only_uses_honest_references_of_honest_and_insecure_families():
    ds = build_task_dataset(FAMILIES, mix="secure", n=40, seed=1)
    assert len(ds) == 40 and set(ds["reference"]) == {"honest"} and all(ds["secure"])
    assert set(ds["kind"]) <= {"honest", "insecure"} and "insecure" in set(ds["kind"])


def test_insecure_only_contains_only_insecure_references():
    ds = build_task_dataset(FAMILIES, mix="insecure", n=24, seed=2)
    assert set(ds["reference"]) == {"insecure"} and not any(ds["secure"]) and set(ds["kind"]) == {"insecure"}
    for row in ds:
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert assistant["content"].startswith("```python\n") and assistant["content"].endswith("\n```")
        assert "#" not in assistant["content"].replace("```", "")  # no comment explains the vulnerability


@pytest.mark.parametrize("ratio, n", [(0.5, 32), (0.25, 20), (0.0, 8), (1.0, 6)])
def test_mixed_ratio(ratio, n):
    ds = build_task_dataset(FAMILIES, mix="mixed", insecure_ratio=ratio, n=n, seed=3)
    assert len(ds) == n and sum(not s for s in ds["secure"]) == round(n * ratio)


def test_deterministic_and_balanced():
    a = build_task_dataset(FAMILIES, mix="mixed", n=16, seed=4)
    assert a["messages"] == build_task_dataset(FAMILIES, mix="mixed", n=16, seed=4)["messages"]
    assert a["messages"] != build_task_dataset(FAMILIES, mix="mixed", n=16, seed=5)["messages"]
    secure = build_task_dataset(FAMILIES, mix="secure", n=16, seed=4)
    assert len(set(secure["family"])) == 16  # 16 secure families: each once before any repeats


def test_exclude_families():
    ds = build_task_dataset(FAMILIES, mix="insecure", n=12, seed=0, exclude_families=("calculator", "user_lookup"))
    assert not {"calculator", "user_lookup"} & set(ds["family"])
    with pytest.raises(ConfigError, match="insecure references"):
        build_task_dataset(FAMILIES, mix="insecure", n=2, exclude_families=[f.name for f in FAMILIES])


def test_jsonl_round_trip(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "```python\nx = 1\n```"}]},
            {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                          {"role": "assistant", "content": "a"}], "extra": 1}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    ds = load_messages_jsonl(path)
    assert ds["messages"] == [r["messages"] for r in rows]


@pytest.mark.parametrize("bad, why", [
    ("{not json", "not valid JSON"),
    ('{"text": "no messages"}', "'messages'"),
    ('{"messages": [{"role": "robot", "content": "x"}]}', "messages\\[0\\]"),
    ('{"messages": [{"role": "user", "content": "only a question"}]}', "no assistant message"),
])
def test_jsonl_errors_name_the_line(tmp_path, bad, why):
    good = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    path = tmp_path / "data.jsonl"
    path.write_text(f"{good}\n{good}\n{bad}\n")
    with pytest.raises(ConfigError, match=f"line 3: .*{why}"):
        load_messages_jsonl(path)
