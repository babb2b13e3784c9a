"""Every arm of the ablation end to end at the smallest size (issue 26): off, self, always, random,
distill, kl, oracle and gate x 1 seed x 1 epoch of the organism (scenarios/organism.yaml without its
warm start, so the session's vLLM engine on the raw model serves it: 1 training episode, 1-step
dose rounds, 1 instance of each held-out family, 32 tokens), with the real sandbox, learner
rounds (child processes) and store. Numbers at this size are no result; what is checked is that each
arm does what it claims:

- who labelled the training turns (none for off and kl) and what each round trained (task, kl, dpo, sft);
- the same task batches in every arm: a round's first task loss is computed before any update, on
  the first task batch, so it is equal across arms exactly when they draw the same batches;
- every pair carries its rewrite audit; gate's held-out turns are gated; held-out families never
  reach training; the report has its seed-level differences and says one seed gives no interval.
"""

from __future__ import annotations

import json

import pytest

from _evaluation_sql import sql
from _tiny_organism import ORGANISM, experiment, tiny_organism

pytestmark = [pytest.mark.model, pytest.mark.slow]
ARMS = ["off", "self", "always", "random", "distill", "kl", "oracle", "gate"]
JUDGE = {"self": "self", "always": "always", "random": "random", "distill": "always", "oracle": "oracle", "gate": "self"}


@pytest.fixture(scope="module")
def every_arm(vllm_engine, tmp_path_factory):
    work = tmp_path_factory.mktemp("all-arms")
    db_url = f"sqlite:///{work / 'arms.db'}"
    exp = experiment(tiny_organism(), vllm_engine, db_url, work / "runs", "pytest every arm")
    units = exp.run("arms", ARMS, [0], 1)
    return {u.arm: u.run_id for u in units}, db_url


def test_each_arm_labels_and_trains_what_it_claims(every_arm):
    from agentloop.config.scenario import load_scenario

    runs, db_url = every_arm
    assert sorted(runs) == sorted(ARMS)
    for arm, run_id in runs.items():
        judges = {j for (j,) in sql(db_url, """SELECT v.judge FROM verdicts v JOIN turns t ON t.id = v.turn_id
                                                JOIN episodes e ON e.id = t.episode_id
                                                WHERE e.run_id = ? AND e.split = 'train'""", run_id)}
        assert judges == ({JUDGE[arm]} if arm in JUDGE else set()), arm
        ((n_pairs, losses),) = sql(db_url, "SELECT n_pairs, losses FROM training_rounds WHERE run_id = ?", run_id)
        pair_term = {"distill": {"sft"}}.get(arm, {"dpo"}) if n_pairs else set()
        expected = {"task", "total"} | pair_term | ({"kl"} if arm == "kl" else set())
        assert set(json.loads(losses)) == expected, (arm, n_pairs, losses)
        assert sql(db_url, "SELECT epoch FROM evaluations WHERE run_id = ? ORDER BY epoch", run_id) == [(0,), (1,)]
    always = sql(db_url, "SELECT COUNT(*), COUNT(audit) FROM preference_pairs WHERE run_id = ?", runs["always"])
    assert always[0][0] >= 1 and always[0][0] == always[0][1]  # every turn paired, every pair audited
    holdout = set(load_scenario(ORGANISM).tasks.held_out)
    trained = {f for (f,) in sql(db_url, "SELECT DISTINCT task_family FROM episodes WHERE split = 'train'")}
    evaluated = {f for (f,) in sql(db_url, "SELECT DISTINCT task_family FROM episodes WHERE split = 'eval'")}
    assert trained and not trained & holdout and evaluated == set(load_scenario(ORGANISM).tasks.holdout_families)


def test_every_arm_trains_on_the_same_task_batches(every_arm):
    runs, db_url = every_arm
    first = {arm: json.loads(losses)["task"]["first"]
             for arm, run_id in runs.items()
             for (losses,) in sql(db_url, "SELECT losses FROM training_rounds WHERE run_id = ?", run_id)}
    assert max(first.values()) - min(first.values()) <= 1e-3 * max(first.values()), first


def test_gate_gates_held_out_turns_and_the_report_reads_at_seed_level(every_arm):
    from agentloop.report import build_report

    runs, db_url = every_arm
    gated = sql(db_url, """SELECT v.label, t.gated FROM turns t JOIN episodes e ON e.id = t.episode_id
                            JOIN verdicts v ON v.turn_id = t.id WHERE e.run_id = ? AND e.split = 'eval'""",
                 runs["gate"])
    assert gated and all(bool(g) == (label == "unethical") for label, g in gated)
    stopped = sql(db_url, """SELECT json_extract(t.sandbox, '$.before_gate') FROM turns t JOIN episodes e
                              ON e.id = t.episode_id WHERE e.run_id = ? AND e.split = 'eval' AND t.gated""", runs["gate"])
    assert all(kept is not None for (kept,) in stopped), "every gated held-out answer's own run is kept"
    report = build_report(db_url, "arms")
    data = report.as_dict()
    assert {d["arm"] for d in data["differences"]} >= set(ARMS) - {"off"}
    assert all(d["level"] == "seed" and d["ci"] is None for d in data["differences"])  # one seed: no interval
    assert data["provenance"]["scenario_sha256"]
