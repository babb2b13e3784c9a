"""The learner that stays loaded across rounds (learner.worker, issue 28) on the embedded model with a real
store: its rounds publish the same adapters as a process per round (the kept base is copied fresh each
round and torch is seeded after it), a failed round answers with its error and the worker goes on, and a
killed worker is started again for the next round."""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

import pytest

from _scripted import bare_runs

pytestmark = pytest.mark.model


def _weights(path: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(path) / "adapter_model.safetensors"))


def test_worker_rounds_equal_process_rounds(embedded_model_path, task_jsonl, tiny_config, tmp_path):
    import subprocess

    import torch

    from learner.job import RoundJob, RoundResult
    from learner.worker import LearnerWorker, RoundFailed

    db_url = f"sqlite:///{tmp_path / 'worker.db'}"
    apart, kept = bare_runs(db_url, 2)
    config = replace(tiny_config, steps=2, dpo_weight=0.0).to_json()

    def job(run_id: int, folder: str) -> RoundJob:
        return RoundJob(db_url=db_url, run_id=run_id, model_path=embedded_model_path,
                        adapters_dir=str(tmp_path / folder), task_jsonl=str(task_jsonl), config_json=config)

    by_process = [RoundResult.from_stdout(subprocess.run(job(apart, "a").command(), capture_output=True, text=True,
                                                         check=True).stdout) for _ in range(2)]
    with LearnerWorker() as worker:
        by_worker = [worker.run(job(kept, "k")) for _ in range(2)]
        pid = worker.proc.pid
        with pytest.raises(RoundFailed, match="does not exist"):
            worker.run(replace(job(kept, "k"), task_jsonl=str(tmp_path / "missing.jsonl")))
        assert worker.proc.pid == pid and worker.run(job(kept, "k")).version == 3, "a failed round leaves it up"
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait()
        assert worker.run(job(kept, "k")).version == 4 and worker.proc.pid != pid, "a dead worker is restarted"
    for a, b in zip(by_process, by_worker):
        assert (a.version, a.losses) == (b.version, b.losses)
        wa, wb = _weights(a.adapter_path), _weights(b.adapter_path)
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
