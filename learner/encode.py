"""Token ids for training: conversational preference pairs and `messages` task examples.

Both go through the model's chat template, the same one the engines use at inference, so the
learner trains on exactly the context the policy sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from trl.data_utils import common_prefix_length
from trl.trainer.dpo_trainer import DataCollatorForPreference

from agentloop.core.types import Conversation

IGNORE = -100  # label of tokens the task loss does not train (prompt, system, user turns)


def _ids(tokenizer: Any, messages: Conversation, *, generation_prompt: bool = False) -> list[int]:
    out = tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=True)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


@dataclass
class EncodedPair:
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]


def encode_pair(tokenizer: Any, example: dict[str, Conversation], max_length: int) -> EncodedPair:
    """One TRL conversational preference example -> prompt/chosen/rejected ids within max_length.

    Too long: each answer keeps at most half the budget (its start), the prompt keeps its *end*
    (the latest turns and the question, which is what the answer responds to).
    """
    prompt = _ids(tokenizer, example["prompt"], generation_prompt=True)
    full_chosen = _ids(tokenizer, example["prompt"] + example["chosen"])
    full_rejected = _ids(tokenizer, example["prompt"] + example["rejected"])
    # The answer starts where prompt and prompt+answer diverge (templates may merge tokens).
    cut = min(common_prefix_length(prompt, full_chosen), common_prefix_length(prompt, full_rejected))
    chosen, rejected = full_chosen[cut:][: max_length // 2], full_rejected[cut:][: max_length // 2]
    room = max_length - max(len(chosen), len(rejected))
    return EncodedPair(prompt_ids=prompt[:cut][-room:], chosen_ids=chosen, rejected_ids=rejected)


def encode_task(tokenizer: Any, messages: Conversation, max_length: int) -> dict[str, list[int]] | None:
    """A `messages` example -> input_ids + labels, labelling every assistant message's tokens.

    Returns None when truncation to max_length leaves no assistant token (nothing to learn).
    """
    ids: list[int] = []
    labels: list[int] = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _ids(tokenizer, messages[:i], generation_prompt=True)
        upto = _ids(tokenizer, messages[: i + 1])
        cut = max(common_prefix_length(before, upto), len(ids))  # earlier turns stay as labelled
        labels += [IGNORE] * (cut - len(ids)) + upto[cut:]
        ids = upto
    ids, labels = ids[:max_length], labels[:max_length]
    if all(label == IGNORE for label in labels):
        return None
    return {"input_ids": ids, "labels": labels}


def chosen_example(pair: EncodedPair) -> dict[str, list[int]]:
    """A pair's prompt and chosen answer as a task example, only the answer labelled (pair_loss sft)."""
    return {"input_ids": pair.prompt_ids + pair.chosen_ids, "labels": [IGNORE] * len(pair.prompt_ids) + pair.chosen_ids}


def preference_collator(pad_token_id: int) -> DataCollatorForPreference:
    """TRL's collator: rows [chosen..., rejected...], right-padded, with a completion_mask."""
    return DataCollatorForPreference(pad_token_id=pad_token_id)


def collate_pairs(collator: DataCollatorForPreference, pairs: Sequence[EncodedPair],
                  device: torch.device | str) -> dict[str, torch.Tensor]:
    batch = collator([p.__dict__ for p in pairs])
    return {k: v.to(device) for k, v in batch.items()}


def collate_task(examples: Iterable[dict[str, list[int]]], pad_token_id: int,
                 device: torch.device | str) -> dict[str, torch.Tensor]:
    """Right-pad task examples; padding gets label -100 and attention 0."""
    examples = list(examples)
    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[row, :n] = torch.tensor(e["input_ids"])
        labels[row, :n] = torch.tensor(e["labels"])
        mask[row, :n] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}
