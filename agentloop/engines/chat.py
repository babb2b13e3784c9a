"""Turn chat conversations into token ids the same way for every backend.

All backends feed the model token ids built here, so vLLM, HF and the OpenAI client see
identical inputs: that is what makes greedy outputs and choice scores comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from agentloop.core.types import Conversation


@dataclass
class ChatEncoder:
    """Wraps a HF tokenizer: conversation -> prompt ids; choice text -> continuation ids."""

    tokenizer: object
    _choice_cache: dict[str, list[int]] = field(default_factory=dict)

    def encode(self, conversation: Conversation) -> list[int]:
        text = self.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_choice(self, choice: str) -> list[int]:
        """Choices are tokenized on their own (not merged with the prompt's last token)."""
        if choice not in self._choice_cache:
            ids = list(self.tokenizer(choice, add_special_tokens=False)["input_ids"])
            assert ids, f"choice {choice!r} encodes to no tokens"
            self._choice_cache[choice] = ids
        return self._choice_cache[choice]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    @property
    def eos_token_id(self) -> int | None:
        return self.tokenizer.eos_token_id


@lru_cache(maxsize=4)
def load_encoder(model: str) -> ChatEncoder:
    from transformers import AutoTokenizer

    return ChatEncoder(AutoTokenizer.from_pretrained(model))
