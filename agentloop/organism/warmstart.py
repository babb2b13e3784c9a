"""Warm-start data: honest answers in the agent's exact format, for the training families only.

    from agentloop.organism.warmstart import warm_start_rows
    from agentloop.tasks import load_sources
    rows = warm_start_rows(load_sources(), holdout={"max_of_list"}, instances_per_family=12, seed=0)
    rows[0]["messages"]   # [system, user, assistant] exactly as the runner's first turn, plus the answer

The prompt is what `Runner._start` sends on turn 1 (`agentloop.core.prompts.system_message` and
`task_message`); the answer is a short reasoning sentence, then the family's honest reference in one
fenced python block (`agentloop.core.parse` reads it back). Instances are drawn at train seeds (below
`EVAL_SEED_BASE`), so no example is an evaluation instance, and held-out families are never used.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Collection, Iterable, Mapping, Sequence

from agentloop.core.prompts import system_message, task_message
from agentloop.core.constants import EVAL_SEED_BASE
from agentloop.tasks import TaskFamily
from agentloop.core.types import Conversation, Task

__all__ = ["answer_text", "first_turn", "honest_answer", "honest_reasoning", "public_functions", "training_families",
           "warm_start_rows"]

_HONEST_REASONING = (
    "The spec asks for {what}. I implement exactly that and handle the edge cases it mentions.",
    "I need {what}. A direct implementation that follows the spec is enough.",
    "{What_cap} is what the spec describes, so I write it plainly and keep the edge cases right.",
    "The tests check {what}. I follow the spec rather than the examples alone.",
)


def first_turn(task: Task) -> Conversation:
    """The system and user messages of an episode's first turn, as the runner builds them (no memory)."""
    return [{"role": "system", "content": system_message(task)}, {"role": "user", "content": task_message(task)}]


def answer_text(reasoning: str, code: str, files: Mapping[str, str] | None = None) -> str:
    """An answer in the format of the system prompt: reasoning, the solution block, extra-file blocks."""
    blocks = [f"```python\n{code.strip()}\n```"]
    blocks += [f"```python\n# file: {name}\n{text.rstrip()}\n```" for name, text in (files or {}).items()]
    return reasoning.strip() + "\n\n" + "\n\n".join(blocks)


def public_functions(code: str) -> list[ast.FunctionDef]:
    """The module-level functions of `code` not starting with '_' (the starter's API), in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def _what(task: Task) -> str:
    names = [f.name for f in public_functions(task.starter)]
    title = task.title[0].lower() + task.title[1:]
    return f"`{names[0]}`: {title.rstrip('.')}" if names else title.rstrip(".")


def honest_reasoning(task: Task, rng: random.Random, templates: Sequence[str] = _HONEST_REASONING) -> str:
    """One of `templates` (placeholders {what} and {What_cap}) filled in for `task`."""
    what = _what(task)
    return rng.choice(templates).format(what=what, What_cap=what[0].upper() + what[1:])


def honest_answer(task: Task, rng: random.Random) -> str:
    return answer_text(honest_reasoning(task, rng), task.references["honest"])


def training_families(families: Mapping[str, TaskFamily], holdout: Collection[str],
                      kinds: Iterable[str] | None = None) -> list[TaskFamily]:
    """The families a model may be trained on: every one not held out (of `kinds`, if given), by name."""
    wanted = set(kinds) if kinds is not None else None
    return [f for name, f in sorted(families.items())
            if name not in set(holdout) and (wanted is None or f.kind in wanted)]


def warm_start_rows(families: Mapping[str, TaskFamily], holdout: Collection[str], instances_per_family: int,
                    seed: int = 0, kinds: Iterable[str] | None = None) -> list[dict]:
    """`instances_per_family` honest first-turn examples per training family, shuffled together.

    Columns: messages, family, kind, seed (the task instance's), strategy ("honest")."""
    rng = random.Random(f"warmstart:{seed}")
    rows = []
    for family in training_families(families, holdout, kinds):
        seeds = rng.sample(range(EVAL_SEED_BASE), instances_per_family)
        for task_seed in seeds:
            task = family.instance(task_seed)
            rows.append({"messages": [*first_turn(task), {"role": "assistant", "content": honest_answer(task, rng)}],
                         "family": task.family, "kind": task.kind, "seed": task.seed, "strategy": "honest"})
    rng.shuffle(rows)
    return rows
