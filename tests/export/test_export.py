"""`agentloop export`: turns, preference pairs and task data as JSON lines or `datasets` folders; a
turns export round-trips through `datasets`; no credential leaves."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from _export_store import API_KEY, DB_PASSWORD, PROMPT, TASK_EXAMPLES, build_store
from agentloop.cli import app
from agentloop.core.errors import AgentloopError


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return build_store(tmp_path)


def export(db: str, *args: str) -> None:
    result = CliRunner().invoke(app, ["export", *args, "--db", db])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output


def test_turns_round_trip_through_datasets(db, tmp_path):
    export(db, "1", "--what", "turns", "--format", "jsonl", "--out", str(tmp_path / "turns.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "turns.jsonl").read_text().splitlines()]
    assert [(r["run_id"], r["turn_index"]) for r in lines] == [(1, 0), (1, 1)]
    hack = lines[0]
    assert hack["verdict_label"] == "unethical" and hack["hack"] and hack["misaligned"]
    assert {f["rule"] for f in hack["findings"]} == {"TAMPER_SYS_EXIT", "TESTS_MISSING"}
    assert hack["experiment"] == "exp-1" and hack["arm"] == "self"
    from_json = datasets.load_dataset("json", data_files=str(tmp_path / "turns.jsonl"), split="train",
                                      cache_dir=str(tmp_path / "hf-cache"))
    assert from_json.to_list() == lines
    export(db, "1", "--what", "turns", "--format", "hf", "--out", str(tmp_path / "turns_ds"))
    assert datasets.load_from_disk(str(tmp_path / "turns_ds")).to_list() == lines


def test_pairs_in_trl_conversational_format(db, tmp_path):
    export(db, "1", "--what", "pairs", "--format", "hf", "--out", str(tmp_path / "pairs"))
    pairs = datasets.load_from_disk(str(tmp_path / "pairs"))
    assert {"prompt", "chosen", "rejected"} <= set(pairs.column_names)
    assert len(pairs) == 2  # the refusal rewrite is left out, as the learner leaves it out
    row = pairs[0]
    assert row["prompt"] == PROMPT
    assert [m["role"] for m in row["chosen"]] == ["assistant"] and [m["role"] for m in row["rejected"]] == ["assistant"]
    assert row["first_round_id"] == 1 and pairs[1]["first_round_id"] is None
    export(db, "1", "--what", "pairs", "--format", "jsonl", "--out", str(tmp_path / "all.jsonl"), "--all-pairs")
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == 3


def test_no_credential_leaves(db, tmp_path):
    for what in ("turns", "pairs", "task-data"):
        out = tmp_path / f"{what}.jsonl"
        export(db, "exp-1", "--what", what, "--format", "jsonl", "--out", str(out))
        text = out.read_text()
        assert API_KEY not in text and DB_PASSWORD not in text, what
    assert "***" in (tmp_path / "turns.jsonl").read_text()  # the key the agent's answer quoted is masked
    assert "***" in (tmp_path / "pairs.jsonl").read_text()


def test_task_data_of_each_round_and_experiments(db, tmp_path):
    export(db, "exp-1", "--what", "task-data", "--format", "hf", "--out", str(tmp_path / "task"))
    rows = datasets.load_from_disk(str(tmp_path / "task")).to_list()
    assert [(r["run_id"], r["round_id"], r["example_index"]) for r in rows] == [(1, 1, 0), (1, 1, 1), (2, 2, 0),
                                                                               (2, 2, 1)]
    assert rows[1]["messages"] == TASK_EXAMPLES[1]["messages"] and rows[1]["family"] == "calculator"
    export(db, "exp-1", "--what", "turns", "--format", "jsonl", "--out", str(tmp_path / "both.jsonl"))
    runs = {json.loads(line)["run_id"] for line in (tmp_path / "both.jsonl").read_text().splitlines()}
    assert runs == {1, 2}


def test_mistakes_say_what_to_change(db, tmp_path):
    with pytest.raises(AgentloopError, match="neither a run id nor an experiment id"):
        export(db, "exp-404", "--out", str(tmp_path / "x.jsonl"))
    with pytest.raises(AgentloopError, match="no run 9"):
        export(db, "9", "--out", str(tmp_path / "x.jsonl"))
    (tmp_path / "exists.jsonl").write_text("")
    with pytest.raises(AgentloopError, match="--force"):
        export(db, "1", "--out", str(tmp_path / "exists.jsonl"))
    with pytest.raises(AgentloopError, match="--what 'verdicts'"):
        export(db, "1", "--what", "verdicts", "--out", str(tmp_path / "y.jsonl"))
    (tmp_path / "runs" / "run-1" / "task_data.jsonl").unlink()
    with pytest.raises(AgentloopError, match=r"run 1: its task data file .*run-1/task_data\.jsonl is gone"):
        export(db, "1", "--what", "task-data", "--out", str(tmp_path / "t.jsonl"))


def test_task_data_changed_after_the_run_is_an_error(db, tmp_path):
    (tmp_path / "runs" / "run-2" / "task_data.jsonl").write_text('{"messages": []}\n')
    with pytest.raises(AgentloopError, match=r"run 2: .*run-2/task_data\.jsonl is not the task data the run wrote"):
        export(db, "2", "--what", "task-data", "--out", str(tmp_path / "t.jsonl"))


def test_another_stores_runs_in_the_same_workdir_are_never_read(tmp_path, monkeypatch):
    """Two stores, one working directory (the README's two commands in one checkout): each store's
    run 1 has its own folder, and export reads the file its own store recorded, or says it has none."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    first = build_store(tmp_path)  # the main job's store: runs/run-1, runs/run-2
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = f"sqlite:///{second_dir / 'export.db'}"
    from store import ensure_schema
    from store.artifacts import claim_run_dir, record_file
    from store.models import RunRow, TrainingRoundRow

    store = ensure_schema(second)
    with store.session() as s:
        for _ in range(2):
            run = RunRow(name="other", config={"experiment": "exp-1"}, model="embedded", backend="hf")
            s.add(run)
            s.flush()
            s.add(TrainingRoundRow(run_id=run.id, version=1, status="done", steps=1, n_task=1))
    other = [{"messages": [{"role": "user", "content": "Other store."}], "family": "x"}]
    folder = claim_run_dir(store, 1, tmp_path / "runs")  # run-1 is the first store's: a sibling is claimed
    assert folder.parent == (tmp_path / "runs").resolve() and folder.name.startswith("run-1-")
    (folder / "task_data.jsonl").write_text(json.dumps(other[0]) + "\n")
    record_file(store, 1, "task_data", folder / "task_data.jsonl")
    export(second, "1", "--what", "task-data", "--format", "jsonl", "--out", str(tmp_path / "o.jsonl"))
    assert [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()] == [
        {"run_id": 1, "round_id": 1, "adapter_version": 1, "example_index": 0, **other[0]}]
    with pytest.raises(AgentloopError, match=r"run 2: this store .* has no task data recorded"):
        export(second, "2", "--what", "task-data", "--out", str(tmp_path / "p.jsonl"))
    export(first, "1", "--what", "task-data", "--format", "jsonl", "--out", str(tmp_path / "f.jsonl"))
    assert [json.loads(line)["messages"] for line in (tmp_path / "f.jsonl").read_text().splitlines()] == [
        e["messages"] for e in TASK_EXAMPLES]
