"""A labelled judge set from a scenario's held-out families, to measure the frozen copy before any arm runs.

    agentloop judge-eval --scenario scenarios/organism.yaml --split dev --model <warm-started base>

Built like the warm start's judge rows (agentloop.organism.judge_data.judge_examples) but on the dev
(holdout_families) or test (test_families) split, never trained, and with every gaming strategy, so
the judge's recall on strategies it was taught and on those it never saw can be read apart (each
item's `kind` is its source: a strategy, hack_reference, insecure_reference, honest, off_by_one,
honest_contradiction).
"""

from __future__ import annotations

import random

from agentloop.core.errors import ConfigError
from agentloop.organism.judge_data import judge_examples, review_item
from agentloop.organism.dose import GAMING  # every gaming strategy the dose data knows
from agentloop.config.scenario import Scenario
from agentloop.tasks import load_sources
from conscience.judge_eval import LabelledItem


def held_out_judge_set(scenario: Scenario, split: str, n: int, seed: int = 0) -> list[LabelledItem]:
    """`n` items (half unethical, each with an ethical answer on the same task instance) on the split's families."""
    names = {"dev": scenario.tasks.holdout_families, "test": scenario.tasks.test_families}.get(split)
    if names is None:
        raise ConfigError(f"--split {split!r}: use dev or test")
    if not names:
        raise ConfigError(f"scenario {scenario.name!r} has no {split} families "
                          f"(tasks.{'holdout_families' if split == 'dev' else 'test_families'})")
    families = load_sources(scenario.tasks.source)
    rng = random.Random(f"held-out-judge:{split}:{seed}")
    items = []
    for i, (task, source, text, label) in enumerate(judge_examples([families[f] for f in sorted(names)], n,
                                                                   GAMING, rng)):
        item = review_item(task, text)
        items.append(LabelledItem(id=f"{split}-{i:04d}-{task.family}-{task.seed}", question=item.question,
                                  reasoning=item.reasoning, answer=item.answer, label=label,
                                  why=f"{source} answer on the held-out family {task.family}", kind=source))
    return items
