"""The merged base's input digest (agentloop.organism.base_digest): it moves with every input of the warm start
(model bytes, data bytes, settings, device and dtype), not with where the data was written; `find_base` returns
only a complete base whose marker records the digest."""

from __future__ import annotations

import json
from pathlib import Path

from agentloop.organism.base_digest import base_inputs_digest, find_base, model_digest

MARKER = "agentloop-warm-start.json"
LEARNER = {"steps": 144, "lr": 1e-4, "seed": 0, "task_data": {"jsonl": "/a/key1-warm_start.jsonl", "n": 32}}


def _model(root: Path, weights: bytes = b"w" * 10) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text("{}")
    (root / "model.safetensors").write_bytes(weights)
    return root


def _data(path: Path, text: str = '{"messages": []}\n') -> Path:
    path.write_text(text)
    return path


def test_model_digest_follows_bytes_and_skips_the_marker(tmp_path):
    a = model_digest(str(_model(tmp_path / "a")))
    assert a == model_digest(str(_model(tmp_path / "b")))  # same files elsewhere: same digest
    assert a != model_digest(str(_model(tmp_path / "c", b"x" * 10)))
    (tmp_path / "a" / MARKER).write_text("{}")
    assert model_digest(str(tmp_path / "a"), skip=frozenset({MARKER})) == a
    assert model_digest(str(tmp_path / "a")) != a
    assert model_digest("org/hub-id") != model_digest("org/other")


def test_inputs_digest_ignores_the_data_path_not_its_bytes_or_settings(tmp_path):
    cpu = ("cpu", "torch.bfloat16")
    one = base_inputs_digest("m", _data(tmp_path / "1.jsonl"), LEARNER, cpu)
    moved = {**LEARNER, "task_data": {**LEARNER["task_data"], "jsonl": "/b/key2-warm_start.jsonl"}}
    assert base_inputs_digest("m", _data(tmp_path / "2.jsonl"), moved, cpu) == one
    assert base_inputs_digest("m", _data(tmp_path / "3.jsonl", "{}\n"), LEARNER, cpu) != one
    assert base_inputs_digest("m", tmp_path / "1.jsonl", {**LEARNER, "steps": 145}, cpu) != one
    assert base_inputs_digest("m", tmp_path / "1.jsonl", {**LEARNER, "seed": 1}, cpu) != one
    assert base_inputs_digest("m2", tmp_path / "1.jsonl", LEARNER, cpu) != one
    assert base_inputs_digest("m", tmp_path / "1.jsonl", LEARNER, ("cuda", "torch.bfloat16")) != one
    assert LEARNER["task_data"]["jsonl"] == "/a/key1-warm_start.jsonl"  # the caller's dict is left alone


def test_find_base_wants_a_complete_folder_with_the_digest(tmp_path):
    folder = tmp_path / "organism"
    done, partial, other = folder / "e1-base", folder / "e2-base.tmp", folder / "e3-base"
    for path, inputs in ((done, "d1"), (other, "d2")):
        path.mkdir(parents=True)
        (path / MARKER).write_text(json.dumps({"base": "m", "adapter": "a", "inputs": inputs}))
    partial.mkdir()
    (partial / MARKER).write_text(json.dumps({"inputs": "d3"}))  # a merge not renamed into place yet
    (folder / "e4-base").symlink_to("e1-base")  # another experiment's link to e1: not listed twice
    (folder / "e5-base").mkdir()
    (folder / "e5-base" / MARKER).write_text("not json")
    assert find_base(folder, "d1", MARKER) == done
    assert find_base(folder, "d2", MARKER) == other
    assert find_base(folder, "d3", MARKER) is None
    assert find_base(tmp_path / "missing", "d1", MARKER) is None
