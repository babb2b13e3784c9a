"""A recording fake judge model, for unit tests of the logic around the conscience's model calls."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from agentloop.core.types import Conversation, Generation
from conscience.verdict import LABELS


@dataclass
class RecordingModel:
    """Scores each prompt with the label named in its answer text ("LABEL:unethical"), echoes rewrites."""

    calls: list[tuple[str, int, int | None]] = field(default_factory=list)  # (method, batch size, adapter)
    prompts: list[Conversation] = field(default_factory=list)

    def score_choices(self, prompts, choices, adapter=None):
        assert tuple(choices) == LABELS
        self.calls.append(("score_choices", len(prompts), adapter))
        rows = []
        for conv in prompts:
            wanted = next(label for label in ("unethical", "neutral", "ethical") if f"LABEL:{label}" in conv[0]["content"])
            rows.append([math.log(0.8) if label == wanted else math.log(0.1) for label in LABELS])
        return rows

    def generate(self, prompts, sampling, adapter=None):
        self.calls.append(("generate", len(prompts), adapter))
        self.prompts.extend(prompts)
        return [Generation(text=f"  rewrite of {self._marker(p)}\n", prompt_tokens=1, completion_tokens=1, latency_s=0.0)
                for p in prompts]

    @staticmethod
    def _marker(conv):
        return next(w for w in conv[0]["content"].split() if w.startswith("ITEM#"))
