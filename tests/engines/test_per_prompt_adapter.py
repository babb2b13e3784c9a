"""One adapter per prompt (several runs' policies in one call): how prompts are grouped into calls."""

from __future__ import annotations

from agentloop.engines.base import by_adapter, generate_per_adapter, per_prompt_adapter
from agentloop.core.types import Generation, Sampling


def test_one_adapter_for_all_or_one_per_prompt() -> None:
    assert per_prompt_adapter(None, 3) == [None, None, None]
    assert per_prompt_adapter(2, 2) == [2, 2]
    assert per_prompt_adapter([1, None], 2) == [1, None]


def test_one_call_per_adapter_in_first_seen_order() -> None:
    assert by_adapter([2, None, 1, 2, None], 5) == [(2, [0, 3]), (None, [1, 4]), (1, [2])]


def test_lora_path_batches_adapters_but_never_with_base() -> None:
    assert by_adapter([2, None, 1, 2], 4, mix_adapters=True) == [(None, [1]), ([2, 1, 2], [0, 2, 3])]
    assert by_adapter([1, 1], 2, mix_adapters=True) == [([1, 1], [0, 1])]
    assert by_adapter([None], 1, mix_adapters=True) == [(None, [0])]


def test_generate_per_adapter_keeps_order_and_each_prompts_sampling() -> None:
    calls = []

    def generate(prompts, sampling, adapter=None):
        calls.append((adapter, [s.seed for s in sampling]))
        return [Generation(text=f"{p[0]['content']}@{adapter}", prompt_tokens=1, completion_tokens=1, latency_s=0.0)
                for p in prompts]

    prompts = [[{"role": "user", "content": c}] for c in "abcd"]
    out = generate_per_adapter(generate, prompts, Sampling(seed=10), [1, None, 1, 3])
    assert [g.text for g in out] == ["a@1", "b@None", "c@1", "d@3"]
    assert calls == [(1, [10, 12]), (None, [11]), (3, [13])]  # seed + position in the whole call
