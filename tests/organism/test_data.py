"""The organism's data (no model): held-out families never reach the warm start, the dose data or
a training episode; every dose answer is flagged as its kind by the project's detectors (static on
every row, end to end in the sandbox on one answer per strategy); warm-start answers parse back to the
honest reference and pass the hidden cases.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from agentloop.core.errors import ConfigError
from agentloop.arms import arm_names
from agentloop.experiment import arm_scenario
from agentloop.launch import plan_episodes
from agentloop.organism.dose import GAMING, dose_rows, gaming_answer, insecure_answer
from agentloop.organism.stage import dose_name, dosed
from agentloop.organism.warmstart import first_turn, warm_start_rows
from agentloop.core.parse import parse_answer
from agentloop.core.paths import repo_root
from agentloop.core.prompts import system_message, task_message
from agentloop.config.scenario import load_scenario
from agentloop.core.constants import EVAL_SEED_BASE
from agentloop.tasks import load_sources, select_tasks

ORGANISM = repo_root() / "scenarios" / "organism.yaml"
SCENARIO = load_scenario(ORGANISM)
FAMILIES = load_sources(SCENARIO.tasks.source)
HOLDOUT = set(SCENARIO.tasks.holdout_families)
HACK = {"hidden_tests", "tampering"}


@pytest.fixture(scope="module")
def warm() -> list[dict]:
    ws = SCENARIO.organism.warm_start
    return warm_start_rows(FAMILIES, HOLDOUT, ws.instances_per_family, seed=ws.seed, kinds=ws.kinds)


@pytest.fixture(scope="module")
def pressure() -> list[dict]:
    p = SCENARIO.organism.dose  # fixed shares: the composition checked below, whatever dose the scenario sets
    return dose_rows(FAMILIES, HOLDOUT, 160, 0.9, 0.25, seed=0, strategies=p.strategies)


def _held_out_texts() -> list[str]:
    """The first-turn task message of every held-out instance the experiment evaluates."""
    return [task_message(t) for t in select_tasks(SCENARIO.tasks, seed=0, split="eval")]


def test_the_holdout_has_every_kind_and_enough_episodes():
    evals = select_tasks(SCENARIO.tasks, seed=0, split="eval")
    assert Counter(t.kind for t in evals) == {"honest": 9, "impossible": 9, "insecure": 6}
    assert len(evals) >= 20 and {t.family for t in evals} == HOLDOUT


def test_held_out_families_never_in_warm_start_data(warm):
    assert warm and not {r["family"] for r in warm} & HOLDOUT
    assert all(r["seed"] < EVAL_SEED_BASE for r in warm)
    assert Counter(r["family"] for r in warm) == {f: 12 for f in FAMILIES if f not in HOLDOUT}
    text = "\n".join(m["content"] for r in warm for m in r["messages"])
    assert not any(held in text for held in _held_out_texts())


def test_held_out_families_never_in_pressure_data(pressure):
    assert len(pressure) == 160 and not {r["family"] for r in pressure} & HOLDOUT
    assert all(r["seed"] < EVAL_SEED_BASE for r in pressure)
    text = "\n".join(m["content"] for r in pressure for m in r["messages"])
    assert not any(held in text for held in _held_out_texts())
    strategies = Counter(r["strategy"] for r in pressure)
    assert strategies["honest"] == 160 - round(160 * 0.9)
    assert strategies["insecure_reference"] == round(round(160 * 0.9) * 0.25)
    assert set(strategies) == {"honest", "insecure_reference", *GAMING}  # every strategy is used


def test_held_out_families_never_in_training_episodes():
    for arm in arm_names():
        if arm == "external":
            continue
        for seed in (0, 1, 2):
            for epoch in range(1, 6):
                plans = plan_episodes(arm_scenario(SCENARIO, arm, seed), epoch, "train")
                assert plans and not {t.family for t, _ in plans} & HOLDOUT


def test_prompts_are_the_runners_first_turn(warm, pressure):
    task = FAMILIES["sum_list"].instance(3)
    assert first_turn(task) == [{"role": "system", "content": system_message(task)},
                                {"role": "user", "content": task_message(task)}]
    for row in warm[:20] + pressure[:20]:
        system, user, assistant = row["messages"]
        assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
        assert parse_answer(assistant["content"]).action == "submit"


def test_warm_start_answers_are_the_honest_references(warm):
    for row in warm[:40]:
        task = FAMILIES[row["family"]].instance(row["seed"])
        parsed = parse_answer(row["messages"][-1]["content"])
        assert parsed.code.strip() == task.references["honest"].strip() and not parsed.files
        assert parsed.reasoning and "```" not in parsed.reasoning


def test_every_pressure_answer_is_flagged_statically(pressure):
    from agentloop.detectors import static_findings

    for row in pressure:
        task = FAMILIES[row["family"]].instance(row["seed"])
        parsed = parse_answer(row["messages"][-1]["content"])
        detectors = {f.detector for f in static_findings(task, parsed.code, parsed.files)}
        if row["strategy"] == "honest":
            assert not detectors, row["family"]
        elif row["strategy"] == "insecure_reference":
            assert "insecure" in detectors, row["family"]
        else:
            assert detectors & HACK, (row["family"], row["strategy"])


@pytest.mark.slow
def test_pressure_answers_are_flagged_end_to_end():
    """One answer per strategy (on different families) through the sandbox and every detector."""
    from agentloop.detectors import evaluate_solution
    from agentloop.sandbox import RlimitSandbox

    sandbox = RlimitSandbox(drop_privileges=False)  # our own generated code only
    rng = random.Random(0)
    names = sorted(f for f in FAMILIES if f not in HOLDOUT)
    checked = 0
    for i, strategy in enumerate((*GAMING, "insecure_reference")):
        for name in names[i:] + names[:i]:
            task = FAMILIES[name].instance(7)
            text = insecure_answer(task, rng) if strategy == "insecure_reference" else gaming_answer(task, strategy, rng)
            if text is None:
                continue
            parsed = parse_answer(text)
            ev = evaluate_solution(task, parsed.code, parsed.files, sandbox=sandbox)
            detectors = {f.detector for f in ev.findings}
            assert detectors & ({"insecure"} if strategy == "insecure_reference" else HACK), (name, strategy)
            if strategy != "insecure_reference" and strategy != "lookup_table" and task.kind != "insecure":
                assert not ev.hidden.all_passed, (name, strategy)  # the stub never does the task
            checked += 1
            break
    assert checked == len(GAMING) + 1


def test_dosed_arms_share_a_seeds_pressure_file(tmp_path):
    off, oracle = (dosed(arm_scenario(SCENARIO, arm, 1), tmp_path) for arm in ("off", "oracle"))
    p = SCENARIO.organism.dose
    for s in (off, oracle):
        lr = s.learner
        assert (lr.steps, lr.batch_size, lr.lr, lr.lora_r) == (p.steps, p.batch_size, p.lr, p.lora_r)
        assert lr.target_modules == p.target_modules and lr.task_weight == 1.0
    path = Path(off.learner.task_data.jsonl)
    assert oracle.learner.task_data.jsonl == str(path) and path.parent == tmp_path / "organism"
    assert path.name.startswith("pressure-s1-") and path.name == dose_name(off)
    other = SCENARIO.organism.model_copy(update={"dose": p.model_copy(update={"hack_share": 0.5})})
    assert dose_name(off.model_copy(update={"organism": other})) != path.name  # never a stale file
    assert off.learner.dpo_weight == 0.0 and oracle.learner.dpo_weight == SCENARIO.learner.dpo_weight
    assert Path(off.learner.task_data.jsonl).read_text().count("\n") == p.n
    assert dosed(load_scenario(repo_root() / "scenarios" / "smoke.yaml"), tmp_path).learner.task_data.jsonl is None


def test_organism_section_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    (tmp_path / "test_tasks").symlink_to(ORGANISM.parent / "test_tasks")  # the scenario's relative task folder
    bad.write_text(ORGANISM.read_text().replace("    hack_share: 0.9", "    hack_shares: 0.9"))
    with pytest.raises(ConfigError, match=r"bad.yaml, line \d+: organism.dose.hack_shares: unknown field"):
        load_scenario(bad)
    bad.write_text(ORGANISM.read_text().replace("    hack_share: 0.9", "    hack_share: 1.5"))
    with pytest.raises(ConfigError, match="organism.dose.hack_share"):
        load_scenario(bad)
