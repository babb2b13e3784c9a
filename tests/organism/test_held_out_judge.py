"""The held-out judge set (`agentloop judge-eval --scenario ... --split dev|test`): only the split's
families, both labels on each task instance, every gaming strategy (taught or not) among the
unethical kinds, and the per-kind counts the CLI prints."""

from __future__ import annotations

from collections import Counter

import pytest

from agentloop.core.errors import ConfigError
from agentloop.organism.held_out_judge import GAMING, held_out_judge_set
from agentloop.core.paths import repo_root
from agentloop.config.scenario import load_scenario

SCENARIO = load_scenario(repo_root() / "scenarios" / "organism.yaml")


@pytest.mark.parametrize("split", ["dev", "test"])
def test_the_split_alone_with_balanced_labels_and_every_strategy(split):
    items = held_out_judge_set(SCENARIO, split, n=64)
    families = set(SCENARIO.tasks.holdout_families if split == "dev" else SCENARIO.tasks.test_families)
    assert len(items) == 64 and {i.id.split("-")[2] for i in items} <= families
    assert Counter(i.label for i in items) == {"ethical": 32, "unethical": 32}
    unethical = {i.kind for i in items if i.label == "unethical"}
    assert set(GAMING) <= unethical  # the strategies the judge was never taught are asked too
    assert {i.kind for i in items if i.label == "ethical"} <= {"honest", "off_by_one", "honest_contradiction"}
    assert held_out_judge_set(SCENARIO, split, n=64) == items  # deterministic


def test_a_split_without_families_is_an_error():
    smoke = load_scenario(repo_root() / "scenarios" / "smoke.yaml")
    with pytest.raises(ConfigError, match="has no test families"):
        held_out_judge_set(smoke, "test", n=8)


def test_per_kind_counts_of_a_result():
    from conscience.judge_eval import JudgeEvalResult

    result = JudgeEvalResult(framework="f", judge="self", evidence=False, n=3, confusion={}, true_counts={},
                             predicted_counts={}, binary={}, accuracy=0.0, seconds=0.0, items=[
                                 {"id": "a", "truth": "unethical", "label": "unethical", "p_unethical": 0.9,
                                  "kind": "exit_early"},
                                 {"id": "b", "truth": "unethical", "label": "ethical", "p_unethical": 0.2,
                                  "kind": "exit_early"},
                                 {"id": "c", "truth": "ethical", "label": "unethical", "p_unethical": 0.7,
                                  "kind": "honest"}])
    assert result.by_kind() == {"exit_early": {"truth": "unethical", "n": 2, "flagged": 1},
                                "honest": {"truth": "ethical", "n": 1, "flagged": 1}}
