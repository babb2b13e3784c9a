"""The learner hop as types: a RoundJob survives its command line and JSON, a RoundResult its stdout line."""

from __future__ import annotations

import sys

from learner.job import RoundJob, RoundResult

JOB = RoundJob(db_url="sqlite:///x.db", run_id=3, model_path="/m", adapters_dir="/a", task_jsonl="/t.jsonl",
               config_json='{"steps": 2}')


def test_a_job_is_its_command_line_and_its_json():
    assert JOB.command()[:3] == [sys.executable, "-m", "learner.round"]
    assert RoundJob.from_argv(JOB.argv()) == JOB
    assert RoundJob.from_json(JOB.to_json()) == JOB
    bare = RoundJob(db_url="sqlite:///x.db", run_id=3, model_path="/m", adapters_dir="/a")
    assert "--task-data" not in bare.argv() and RoundJob.from_argv(bare.argv()) == bare


def test_a_result_is_read_back_from_the_rounds_stdout():
    result = RoundResult(run_id=1, round_id=2, version=3, adapter_path="/a/v3", checksum="c",
                         losses={"task": {"first": 1.0, "last": 0.5, "mean": 0.7}}, n_pairs=4, n_replay=1, n_task=8,
                         steps=2, train_seconds=2.0, pair_rows=8)
    stdout = "some library noise\n" + result.to_json() + "\n"
    back = RoundResult.from_stdout(stdout)
    assert back == result and back.pairs_per_s == 4.0
