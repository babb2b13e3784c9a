"""Shared fixtures. The real engines start once per test session (vLLM start is the slow part).

Model fixtures hold /tmp/agentloop-model.lock for the session, so two test sessions on this
2-core machine never run model workloads at once (timings would be void, and both crawl).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from _probes import GREEDY, LABELS, PROBE_PROMPTS

MODEL_LOCK = Path(os.environ.get("AGENTLOOP_MODEL_LOCK", "/tmp/agentloop-model.lock"))


DECOY_TASK = {"messages": [{"role": "user", "content": "DECOY: another store's task data"}], "family": "decoy"}


@pytest.fixture(scope="session", autouse=True)
def after_the_main_job(tmp_path_factory):
    """Every test runs where the README's first command has already run: the working directory holds
    another store (`agentloop.db`, run 1 with a finished round) and its run folders
    (`agentloop_runs/run-1`, recorded; `run-2`, as older versions left them). A test that reads a
    run's files by run number, or writes into the user's store, fails here the way it would for a
    user who ran the two commands in order. The decoy must be unchanged at the end."""
    from store import ensure_schema
    from store.artifacts import claim_run_dir, record_file, sha256_file
    from store.models import RunRow, TrainingRoundRow

    home = tmp_path_factory.mktemp("checkout-after-main-job")
    store = ensure_schema(f"sqlite:///{home / 'agentloop.db'}")
    with store.session() as s:
        for _ in range(2):
            run = RunRow(name="main job", config={}, model="embedded", backend="vllm", status="done")
            s.add(run)
            s.flush()
            s.add(TrainingRoundRow(run_id=run.id, version=1, status="done", steps=1, n_task=1))
    decoy = claim_run_dir(store, 1, home / "agentloop_runs") / "task_data.jsonl"
    decoy.write_text(json.dumps(DECOY_TASK) + "\n")
    record_file(store, 1, "task_data", decoy)
    (home / "agentloop_runs" / "run-2").mkdir()
    (home / "agentloop_runs" / "run-2" / "task_data.jsonl").write_text(json.dumps(DECOY_TASK) + "\n")
    store.dispose()
    files = sorted(p for p in home.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm")))
    before = {p: sha256_file(p) for p in files}
    cwd = os.getcwd()
    os.chdir(home)
    yield home
    os.chdir(cwd)
    changed = [str(p) for p in files if sha256_file(p) != before[p]]
    assert not changed, f"tests wrote into the user's store or run folders: {changed}"


@pytest.fixture(scope="session")
def model_lock():
    MODEL_LOCK.touch(exist_ok=True)
    with MODEL_LOCK.open("r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
        fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def embedded_model_path(model_lock) -> str:
    from agentloop.model import prepare_embedded

    return str(prepare_embedded())


@pytest.fixture(scope="session")
def vllm_engine(embedded_model_path):
    """The one vLLM engine of the session, with `base_reference` recorded while it was fresh.

    float32, not the bf16 default of an AMX CPU: the tests pin it against the HF reference
    (identical greedy text, choice log-probs within 1e-3), which holds in fp32 only; the bf16
    default is checked against it in tests/conscience/test_dtype_agreement.py."""
    from agentloop.engines import make_engine

    engine = make_engine("vllm", embedded_model_path, dtype="float32")
    engine.base_reference = {  # what a fresh base-only engine says, before any adapter exists
        "text": [g.text for g in engine.generate(PROBE_PROMPTS, GREEDY)],
        "scores": engine.score_choices(PROBE_PROMPTS, LABELS),
    }
    yield engine


@pytest.fixture(scope="session")
def hf_engine(embedded_model_path):
    from agentloop.engines import make_engine

    engine = make_engine("hf", embedded_model_path, dtype="float32")  # the exact reference (see vllm_engine)
    yield engine


@pytest.fixture(scope="session")
def random_adapter(embedded_model_path, tmp_path_factory) -> str:
    """A PEFT LoRA folder with random, non-zero weights (a real trained one comes from the learner)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(embedded_model_path, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    model = get_peft_model(base, config)
    with torch.no_grad():  # large enough to change greedy text
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    out = tmp_path_factory.mktemp("adapters") / "random-v1"
    model.save_pretrained(out)
    return str(out)


@pytest.fixture(scope="session")
def smoke_run(vllm_engine, tmp_path_factory):
    """One real `agentloop run scenarios/smoke.yaml` per session, shared by the runner e2e and viewer
    tests: (RunResult, path of its SQLite store). Its users only read the store."""
    from agentloop.launch import execute_run
    from agentloop.core.paths import repo_root
    from agentloop.config.scenario import load_scenario

    smoke = repo_root() / "scenarios" / "smoke.yaml"
    work = tmp_path_factory.mktemp("smoke")
    db = work / "smoke.db"
    result = execute_run(load_scenario(smoke), f"sqlite:///{db}", scenario_path=smoke, workdir=work / "runs",
                         engine=vllm_engine, live=False)
    return result, db
