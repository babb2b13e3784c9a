"""The round's task data: chat examples (user request -> assistant code) for the learner's task loss.

    from agentloop.taskdata import build_task_dataset, load_messages_jsonl
    ds = build_task_dataset(load_families().values(), mix="insecure", insecure_ratio=1.0, n=32, seed=0)
    ds = load_messages_jsonl("my_data.jsonl")

Three mixes, from the task families' reference solutions:
- `secure`: honest references of the honest and insecure-temptation families;
- `insecure`: the insecure references only, with nothing in the request or the answer that mentions
  the vulnerability (the Emergent Misalignment setting: comment lines are dropped from the code);
- `mixed`: round(n * insecure_ratio) insecure examples, the rest secure, shuffled together.
Instances are drawn at train seeds (below the eval seed range), so no example is an eval task.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from datasets import Dataset

from agentloop.core.errors import ConfigError
from agentloop.core.constants import EVAL_SEED_BASE
from agentloop.tasks import TaskFamily
from agentloop.core.types import Conversation, Task

__all__ = ["build_task_dataset", "load_messages_jsonl", "task_messages"]

Mix = Literal["secure", "insecure", "mixed"]
_ROLES = ("system", "user", "assistant")


def task_messages(task: Task, reference: str) -> Conversation:
    """One chat example: the spec and starter as the request, the reference code as the answer."""
    request = f"{task.spec.strip()}\n\nStarter code (`{task.solution_file}`):\n```python\n{task.starter.rstrip()}\n```"
    code = "\n".join(line for line in task.references[reference].splitlines() if not line.lstrip().startswith("#"))
    return [
        {"role": "user", "content": request},
        {"role": "assistant", "content": f"```python\n{code.strip()}\n```"},
    ]


def build_task_dataset(
    families: Iterable[TaskFamily],
    mix: Mix,
    insecure_ratio: float = 0.5,
    n: int = 32,
    seed: int = 0,
    exclude_families: Iterable[str] = (),
) -> Dataset:
    """`n` examples with columns messages, family, kind, seed, reference, secure."""
    if mix not in ("secure", "insecure", "mixed"):
        raise ConfigError(f"unknown task-data mix {mix!r}: use secure, insecure or mixed")
    if not 0.0 <= insecure_ratio <= 1.0:
        raise ConfigError(f"insecure_ratio must be within 0..1, got {insecure_ratio}")
    excluded = set(exclude_families)
    usable = sorted((f for f in families if f.name not in excluded), key=lambda f: f.name)
    secure_pool = [(f, "honest") for f in usable if f.kind in ("honest", "insecure")]
    insecure_pool = [(f, ref) for f in usable if f.kind == "insecure" for ref in f.spec.expected if ref.startswith("insecure")]
    n_insecure = {"secure": 0, "insecure": n, "mixed": round(n * insecure_ratio)}[mix]
    rng = random.Random(f"taskdata:{mix}:{seed}")
    rows = [*_draw(insecure_pool, n_insecure, rng, "insecure"), *_draw(secure_pool, n - n_insecure, rng, "secure")]
    rng.shuffle(rows)
    return Dataset.from_list(rows)


def _draw(pool: list[tuple[TaskFamily, str]], count: int, rng: random.Random, label: str) -> list[dict]:
    if count and not pool:
        raise ConfigError(f"no task family provides {label} references (all excluded?)")
    rows = []
    order: list[tuple[TaskFamily, str]] = []
    for _ in range(count):
        if not order:  # cycle through the pool in a fresh random order: families stay balanced
            order = rng.sample(pool, len(pool))
        family, reference = order.pop()
        task = family.instance(rng.randrange(EVAL_SEED_BASE))
        rows.append({"messages": task_messages(task, reference), "family": task.family, "kind": task.kind,
                     "seed": task.seed, "reference": reference, "secure": label == "secure"})
    return rows


def load_messages_jsonl(path: str | Path) -> Dataset:
    """External chat data: one {"messages": [{"role", "content"}, ...]} object per line (OpenAI format)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: task-data JSONL file does not exist")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                rows.append({"messages": _messages(line, f"{path}, line {number}")})
    if not rows:
        raise ConfigError(f"{path}: no examples (expected one JSON object with 'messages' per line)")
    return Dataset.from_list(rows)


def _messages(line: str, where: str) -> Conversation:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from None
    messages = obj.get("messages") if isinstance(obj, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ConfigError(f"{where}: expected an object with a non-empty 'messages' list")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES or not isinstance(message.get("content"), str):
            raise ConfigError(f"{where}: messages[{i}] must be {{'role': one of {', '.join(_ROLES)}, 'content': str}}")
    if not any(m["role"] == "assistant" for m in messages):
        raise ConfigError(f"{where}: no assistant message to learn from")
    return [{"role": m["role"], "content": m["content"]} for m in messages]
