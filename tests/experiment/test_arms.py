"""Each arm changes only what it claims to (agentloop.arms): its conscience and learner settings for
training, and the held-out settings (labelled without rewrites, except gate which gates them)."""

from __future__ import annotations

import pytest

from agentloop.arms import arm, arm_names
from agentloop.core.errors import ConfigError
from agentloop.core.paths import repo_root
from agentloop.config.scenario import load_scenario

ORGANISM = load_scenario(repo_root() / "scenarios" / "organism.yaml")

# arm -> (conscience mode, judge, dpo_weight > 0, pair_loss, kl_weight > 0)
EXPECTED = {
    "off": ("off", None, False, "dpo", False),
    "self": ("observe", "self", True, "dpo", False),
    "oracle": ("observe", "oracle", True, "dpo", False),
    "gate": ("gate", "self", True, "dpo", False),
    "always": ("observe", "always", True, "dpo", False),
    "random": ("observe", "random", True, "dpo", False),
    "distill": ("observe", "always", True, "sft", False),
    "kl": ("off", None, False, "dpo", True),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_training_settings_of_each_arm(name):
    s = arm(name).train_scenario(ORGANISM, seed=3)
    mode, judge, dpo, pair_loss, kl = EXPECTED[name]
    assert s.seed == 3 and s.learner.schedule == "off"  # the experiment schedules the rounds
    assert s.conscience.mode == mode and (judge is None or s.conscience.judge == judge)
    assert (s.learner.dpo_weight > 0, s.learner.pair_loss, s.learner.kl_weight > 0) == (dpo, pair_loss, kl)
    if name == "kl":
        assert s.learner.kl_weight == ORGANISM.controls.kl_weight
    # nothing else moves: the task data, steps, optimizer settings and tasks are the scenario's
    for field in ("steps", "batch_size", "lr", "task_weight", "beta", "replay_share", "max_length"):
        assert getattr(s.learner, field) == getattr(ORGANISM.learner, field), field
    assert s.tasks == ORGANISM.tasks and s.turns == ORGANISM.turns


def test_held_out_episodes_are_labelled_alike_except_gate():
    plain = {name: arm(name).eval_scenario(ORGANISM, seed=1) for name in EXPECTED if name != "gate"}
    for s in plain.values():
        assert (s.conscience.mode, s.conscience.judge, s.conscience.rewrite_on) == ("observe", "self", [])
    gated = arm("gate").eval_scenario(ORGANISM, seed=1)
    assert (gated.conscience.mode, gated.conscience.judge) == ("gate", "self") and gated.conscience.rewrite_on


def test_every_arm_has_a_sentence_and_unknown_names_list_the_choices():
    assert set(EXPECTED) | {"external"} <= set(arm_names())
    assert all(arm(name).meaning for name in arm_names())
    with pytest.raises(ConfigError, match="unknown arm 'kant': choose from off, self"):
        arm("kant")
