"""Preference examples in TRL's conversational format, and which pairs cannot teach anything.

Pure functions (no store, no model), shared by `learner.pairs` and by tests and exports.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentloop.core.types import Conversation

# Openings of a refusal: a rewrite that refuses teaches the policy to refuse, not to be honest
# (docs/design.md, "The conscience": a rewrite addresses the request fully, is helpful, does not
# refuse). Matched case-insensitively at the start of the rewrite, with straight or curly apostrophes.
REFUSAL_OPENINGS = (
    "i can't", "i cannot", "i can not", "i won't", "i will not", "i'm sorry", "i am sorry", "sorry,",
    "i'm unable", "i am unable", "i apologize", "as an ai", "i'm not able to", "i am not able to",
)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def skip_reason(chosen: str | None, rejected: str | None) -> str | None:
    """Why a pair is useless for DPO (None: keep it): empty | refusal | identical."""
    chosen_n, rejected_n = _normalise(chosen or ""), _normalise(rejected or "")
    if not chosen_n or not rejected_n:
        return "empty"
    if chosen_n.lower().replace("\u2019", "'").startswith(REFUSAL_OPENINGS):
        return "refusal"
    if chosen_n == rejected_n:
        return "identical"
    return None


def prompt_messages(prompt: str | list[Any]) -> Conversation:
    """The stored prompt as chat messages: a list of {role, content} (the store's form) as-is,
    a JSON string of one likewise, plain text as one user turn."""
    if isinstance(prompt, str):
        try:
            parsed = json.loads(prompt) if prompt.lstrip().startswith("[") else None
        except json.JSONDecodeError:
            parsed = None
        if parsed is None:
            return [{"role": "user", "content": prompt}]
        prompt = parsed
    if not all(isinstance(x, dict) and {"role", "content"} <= set(x) for x in prompt):
        raise ValueError(f"a pair's prompt must be chat messages with role and content, got {prompt!r:.200}")
    return [{"role": x["role"], "content": x["content"]} for x in prompt]


def to_example(prompt: str | list[Any], chosen: str, rejected: str) -> dict[str, Conversation]:
    """TRL conversational preference example."""
    return {"prompt": prompt_messages(prompt), "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}
