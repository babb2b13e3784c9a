"""Rounds end to end on the embedded model: a real store, real PEFT training, the vLLM engine,
and a real `python -m learner.round` process killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from _probes import GREEDY, PROBE_PROMPTS
from _scripted import bare_runs

pytestmark = pytest.mark.model


def _rows(db_url: str, run_id: int):
    from store import models as m
    from store.session import open_store

    with open_store(db_url).session(readonly=True) as s:
        rounds = s.scalars(select(m.TrainingRoundRow).where(m.TrainingRoundRow.run_id == run_id)
                           .order_by(m.TrainingRoundRow.id)).all()
        adapters = s.scalars(select(m.AdapterRow).where(m.AdapterRow.run_id == run_id)
                             .order_by(m.AdapterRow.version)).all()
        fresh = s.scalar(select(m.PreferencePairRow.id).where(m.PreferencePairRow.first_round_id.is_(None)).limit(1))
    return rounds, adapters, fresh


def test_round_lowers_dpo_loss_and_publishes_a_loadable_adapter(
        embedded_model_path, pair_store, preference_examples, task_jsonl, tiny_config, tmp_path, vllm_engine,
        dpo_evaluate):
    from learner.round import run_round
    from learner.train import load_policy

    db_url, run_id = pair_store
    config = replace(tiny_config, steps=6)
    before = dpo_evaluate(embedded_model_path, None, preference_examples, config)
    result = run_round(db_url, run_id, embedded_model_path, tmp_path / "adapters", task_jsonl, config)
    after = dpo_evaluate(embedded_model_path, result.adapter_path, preference_examples, config)

    assert after.dpo_loss < before.dpo_loss - 0.05, (before, after)
    assert after.logp_margin > before.logp_margin, (before, after)
    assert result.version == 1 and result.n_pairs == len(preference_examples) and result.n_task == 4
    assert result.skipped == {"empty": 1, "refusal": 1, "identical": 1}
    assert set(result.losses) == {"task", "dpo", "total"}

    rounds, adapters, fresh = _rows(db_url, run_id)
    assert [(r.status, r.version, r.steps, r.n_pairs) for r in rounds] == [("done", 1, 6, len(preference_examples))]
    assert rounds[0].losses["dpo"]["first"] == pytest.approx(0.6931, abs=1e-3) and rounds[0].device == "cpu"
    assert [(a.version, a.path, a.checksum, a.round_id) for a in adapters] == [
        (1, result.adapter_path, result.checksum, rounds[0].id)]
    assert fresh is None  # every pair is now marked as trained (replay candidates from here on)

    # the engine hot-swaps it: policy output changes, the conscience (no adapter) stays the base
    version = max(vllm_engine.adapter_versions, default=0) + 100
    vllm_engine.load_adapter(result.adapter_path, version)
    policy = [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY, adapter=version)]
    conscience = [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY)]
    assert policy != vllm_engine.base_reference["text"]
    assert conscience == vllm_engine.base_reference["text"]

    # continual: the next round starts from v1 (with replay), not from scratch
    second = run_round(db_url, run_id, embedded_model_path, tmp_path / "adapters", task_jsonl,
                       replace(config, steps=1, task_weight=0.0))
    assert (second.version, second.parent_version, second.n_pairs, second.n_replay) == (2, 1, 0, 1)
    model, _ = load_policy(embedded_model_path, result.adapter_path, config, "cpu", __import__("torch").float32)
    assert any(p.requires_grad for p in model.parameters())  # loaded trainable, as rounds do


def test_kill_9_mid_round_leaves_no_half_adapter(embedded_model_path, pair_store, task_jsonl, tiny_config, tmp_path):
    from learner.round import run_round

    db_url, run_id = pair_store
    adapters = tmp_path / "adapters"
    config = replace(tiny_config, steps=200)
    proc = subprocess.Popen([sys.executable, "-m", "learner.round", "--db", db_url, "--run", str(run_id), "--model",
                             embedded_model_path, "--adapters", str(adapters), "--task-data", str(task_jsonl),
                             "--config", config.to_json()], stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # wait until it is really training
        if "step 2/200" in line or time.monotonic() > deadline:
            break
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    proc.stderr.close()

    rounds, published, _ = _rows(db_url, run_id)
    assert [r.status for r in rounds] == ["running"] and published == []
    leftovers = [p.name for p in adapters.iterdir()] if adapters.exists() else []
    assert not [n for n in leftovers if n.startswith("v")], leftovers

    result = run_round(db_url, run_id, embedded_model_path, adapters, task_jsonl, replace(tiny_config, steps=1))
    rounds, published, _ = _rows(db_url, run_id)
    assert [r.status for r in rounds] == ["failed", "done"] and "process died" in rounds[0].error
    assert result.version == 1 and [a.version for a in published] == [1]
    assert sorted(p.name for p in adapters.iterdir()) == ["v1"]
    assert all(Path(a.path).is_dir() for a in published)


def test_arms_of_one_seed_draw_the_same_batches(embedded_model_path, task_jsonl, tiny_config, tmp_path):
    """An experiment's arms differ only in the conscience: with no pairs, two runs' first rounds train
    the same task batches (seeded by the run's version, not the store-wide round id) and publish the
    same adapter, although a round of another run sits between them in the store."""
    from safetensors.torch import load_file

    from learner.round import run_round

    db_url = f"sqlite:///{tmp_path / 'arms.db'}"
    first, other, second = bare_runs(db_url, 3)
    config = replace(tiny_config, steps=2, dpo_weight=0.0)
    a = run_round(db_url, first, embedded_model_path, tmp_path / "a", task_jsonl, config)
    run_round(db_url, other, embedded_model_path, tmp_path / "o", task_jsonl, replace(config, steps=1))
    b = run_round(db_url, second, embedded_model_path, tmp_path / "b", task_jsonl, config)
    rounds, _, _ = _rows(db_url, second)
    assert rounds[0].id == 3 and a.version == b.version == 1  # different round ids, same version
    weights_a = load_file(str(Path(a.adapter_path) / "adapter_model.safetensors"))
    weights_b = load_file(str(Path(b.adapter_path) / "adapter_model.safetensors"))
    assert weights_a.keys() == weights_b.keys()
    assert all(__import__("torch").equal(weights_a[k], weights_b[k]) for k in weights_a)
