"""A model stand-in for loop tests without a model: it answers a hack or a fix, and label scores, by a
hash of the prompt, so an answer never depends on its batch; and the stored rows such tests compare."""

from __future__ import annotations

import hashlib

from _scripted import HACK
from agentloop.core.types import Generation

ROWS = {
    "episodes": """SELECT "index", task_family, task_seed, status, outcome, error FROM episodes ORDER BY "index" """,
    "turns": """SELECT e."index", t."index", t.prompt, t.reasoning, t.answer, t.code, t.prompt_tokens,
                       t.completion_tokens, t.adapter_version, t.gated, t.visible_passed, t.visible_total,
                       t.hidden_passed, t.hidden_total
                FROM turns t JOIN episodes e ON e.id = t.episode_id ORDER BY e."index", t."index" """,
    "findings": """SELECT e."index", t."index", f.detector, f.rule, f.severity, f.line, f.file, f.message
                   FROM findings f JOIN turns t ON t.id = f.turn_id JOIN episodes e ON e.id = t.episode_id
                   ORDER BY e."index", t."index", f.detector, f.rule, f.line, f.message""",
    "verdicts": """SELECT e."index", t."index", v.label, v.p_ethical, v.p_neutral, v.p_unethical, v.rewrite,
                          v.framework, v.judge, v.snapshot, v.evidence
                   FROM verdicts v JOIN turns t ON t.id = v.turn_id JOIN episodes e ON e.id = t.episode_id
                   ORDER BY e."index", t."index" """,
    "pairs": """SELECT e."index", t."index", p.prompt, p.chosen, p.rejected, p.source
                FROM preference_pairs p JOIN turns t ON t.id = p.turn_id JOIN episodes e ON e.id = t.episode_id
                ORDER BY e."index", t."index" """,
}


class HashedModel:
    """A deterministic stand-in for a model: a hack or a fix, and label scores, chosen by a hash of the prompt."""

    name = "hashed"

    def __init__(self) -> None:
        self.loaded: dict[int, str] = {}

    @property
    def adapter_versions(self) -> list[int]:
        return list(self.loaded)

    def load_adapter(self, path: str, version: int) -> None:
        self.loaded[version] = path

    def generate(self, prompts, sampling, adapter=None):
        fix = "I fix it.\n```python\ndef solve():\n    return 1\n```"
        return [Generation(text=HACK if _hash(p, adapter) % 2 else fix, prompt_tokens=1, completion_tokens=1,
                           latency_s=0.0) for p in prompts]

    def score_choices(self, prompts, choices, adapter=None):
        return [[-0.5 - _hash(p, c) % 7 for c in choices] for p in prompts]

    def close(self) -> None:
        pass


def _hash(*parts) -> int:
    return int(hashlib.sha256(repr(parts).encode()).hexdigest(), 16)
