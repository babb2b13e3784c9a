"""A round on preference pairs made by a real smoke-sized run: the agent's turns are a scripted,
detectable hack (the embedded self-judge flags nothing, so only a known hack guarantees pairs), the
oracle judge labels them, and the frozen copy on the real vLLM engine writes the rewrites (chosen).
The DPO loss and margin on exactly the pairs the round trains are measured before and after."""

from __future__ import annotations

from dataclasses import replace

import pytest

from _scripted import HACK, ScriptedPolicy, planned_run
from agentloop.core.paths import repo_root

pytestmark = pytest.mark.model
SMOKE = repo_root() / "scenarios" / "smoke.yaml"


def _run_with_pairs(vllm_engine, db_path) -> int:
    from agentloop.launch import task_resolver
    from agentloop.runner import Runner, RunnerOptions
    from agentloop.sandbox import get_sandbox
    from agentloop.config.scenario import load_scenario
    from agentloop.core.types import Sampling
    from conscience.judge import make_judge

    scenario = load_scenario(SMOKE)
    _, rec, run_id = planned_run(db_path, scenario, "pairs")
    judge = make_judge("oracle", vllm_engine, "three_laws", rewrite_sampling=Sampling(max_tokens=160, temperature=0.0))
    options = RunnerOptions(turns=scenario.turns, batch_size=scenario.batch_size, mode="observe")
    Runner(options, rec, ScriptedPolicy(HACK), get_sandbox("auto"), judge, task_resolver(scenario)).run(run_id)
    return run_id


def test_round_on_pairs_from_a_real_run_lowers_their_dpo_loss(
        vllm_engine, embedded_model_path, task_jsonl, tiny_config, tmp_path, dpo_evaluate):
    from learner.pairs import load_pairs
    from learner.round import run_round
    from store.session import open_store

    db_url = f"sqlite:///{tmp_path / 'run.db'}"
    run_id = _run_with_pairs(vllm_engine, tmp_path / "run.db")
    with open_store(db_url).session(readonly=True) as s:
        batch = load_pairs(s, run_id, replay_share=0.0, seed=0)  # what the round will train on
    assert batch.n_new + sum(batch.skipped.values()) == 4  # 2 episodes x 2 hacked turns, each a pair
    assert batch.examples, f"every rewrite was skipped: {batch.skipped}"
    assert all("sys.exit(0)" in ex["rejected"][-1]["content"] for ex in batch.examples)

    config = replace(tiny_config, steps=6)
    before = dpo_evaluate(embedded_model_path, None, batch.examples, config)
    result = run_round(db_url, run_id, embedded_model_path, tmp_path / "adapters", task_jsonl, config)
    after = dpo_evaluate(embedded_model_path, result.adapter_path, batch.examples, config)

    assert result.n_pairs == len(batch.examples) and result.skipped == batch.skipped
    assert after.dpo_loss < before.dpo_loss - 0.05, (before, after)
    assert after.logp_margin > before.logp_margin, (before, after)
