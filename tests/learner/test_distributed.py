"""A round under `accelerate launch` with two processes (torchrun + gloo on this CPU machine; NCCL on
GPUs), on the embedded model and a real SQLite store: rank 0 alone locks, records and publishes;
the two ranks' averaged update equals one process training the same global batches; a round that
rank 0 cannot start fails on every rank instead of leaving the others waiting."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from _vllm_server import free_port

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]


def _launch(db_url: str, run_id: int, model: str, adapters: Path, config_json: str) -> subprocess.CompletedProcess:
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
           "-m", "learner.round", "--db", db_url, "--run", str(run_id), "--model", model,
           "--adapters", str(adapters), "--config", config_json]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}  # one core per rank, no GPU
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _lora(adapter_dir: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(adapter_dir) / "adapter_model.safetensors"))


def test_two_ranks_train_like_one_process_and_publish_once(embedded_model_path, pair_store, tiny_config, tmp_path):
    from learner.round import run_round
    from store import models as m
    from store.session import open_store

    db_url, run_id = pair_store
    single_db = tmp_path / "single.db"
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as src, sqlite3.connect(single_db) as dst:
        src.backup(dst)  # not a file copy: the store runs in WAL mode, so recent rows may sit in the -wal file
    # DPO only (its loss is a mean over pairs, so a mean over ranks of 1-pair means is the 2-pair mean)
    # fp32: in bf16 a row's numbers depend on the batch's shapes (kernel choice), so 1-pair and 2-pair
    # batches agree only to ~1e-2, and this test is about the ranks, not the dtype
    config = replace(tiny_config, steps=2, batch_size=1, task_weight=0.0, device="cpu", dtype="float32")

    proc = _launch(db_url, run_id, embedded_model_path, tmp_path / "ddp", config.to_json())
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, proc.stdout  # one JSON line per round, from rank 0 only
    result = json.loads(lines[0])
    assert (result["world_size"], result["version"], result["steps"]) == (2, 1, 2)
    assert result["pair_rows"] == 2 * 1 * 2  # steps x per-rank batch x ranks
    with open_store(db_url).session(readonly=True) as s:
        rounds = s.execute(select(m.TrainingRoundRow.status, m.TrainingRoundRow.version)
                           .where(m.TrainingRoundRow.run_id == run_id)).all()
        adapters = s.scalars(select(m.AdapterRow.path).where(m.AdapterRow.run_id == run_id)).all()
    assert [tuple(r) for r in rounds] == [("done", 1)] and adapters == [result["adapter_path"]]
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["v1"]  # no second rank's temp dir

    # one process, batch 2: the same global batches, so the same update up to float noise
    single = run_round(f"sqlite:///{single_db}", run_id, embedded_model_path, tmp_path / "single", None,
                       replace(config, batch_size=2))
    assert single.losses["dpo"]["first"] == pytest.approx(result["losses"]["dpo"]["first"], abs=1e-4)
    ddp, one = _lora(result["adapter_path"]), _lora(single.adapter_path)
    assert ddp.keys() == one.keys()
    moved = max(one[k].abs().max().item() for k in one if "lora_B" in k)  # B starts at zero
    assert moved > 1e-3, moved  # it trained
    # Relative to the update, not element by element: Adam moves a weight whose gradient is near its
    # eps (1e-8) by a noise-sized fraction of lr, so one such element differed by 7% of the largest
    # move (at this session's base commit too) while the update as a whole agrees to ~1e-4 of its norm.
    b = [k for k in one if "lora_B" in k]
    diff = sum((ddp[k] - one[k]).float().norm() ** 2 for k in b) ** 0.5
    size = sum(one[k].float().norm() ** 2 for k in b) ** 0.5
    assert diff < 0.01 * size, (float(diff), float(size))


def test_a_round_rank_0_cannot_start_fails_on_every_rank(embedded_model_path, pair_store, tiny_config, tmp_path):
    from store.lock import round_lock

    db_url, run_id = pair_store
    with round_lock(db_url, run_id):  # another learner holds the run
        proc = _launch(db_url, run_id, embedded_model_path, tmp_path / "adapters",
                       replace(tiny_config, device="cpu").to_json())
    assert proc.returncode != 0
    assert proc.stderr.count(f"a learner round for run {run_id} is already running") >= 2, proc.stderr[-4000:]
    assert not (tmp_path / "adapters").exists()
