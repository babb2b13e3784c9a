"""The real engines on the embedded model: vLLM vs the HF reference, LoRA hot-swap, frozen copy."""

from __future__ import annotations

import math

import pytest

from _probes import GREEDY, LABELS, PROBE_PROMPTS

pytestmark = pytest.mark.model


def test_vllm_matches_hf_greedy_text(vllm_engine, hf_engine):
    v = vllm_engine.generate(PROBE_PROMPTS, GREEDY)
    h = hf_engine.generate(PROBE_PROMPTS, GREEDY)
    assert [g.text for g in v] == [g.text for g in h]
    assert all(g.completion_tokens > 0 and g.prompt_tokens > 0 for g in v)
    assert [g.prompt_tokens for g in v] == [g.prompt_tokens for g in h]


def test_vllm_matches_hf_choice_scores(vllm_engine, hf_engine):
    v = vllm_engine.score_choices(PROBE_PROMPTS, LABELS)
    h = hf_engine.score_choices(PROBE_PROMPTS, LABELS)
    for vrow, hrow in zip(v, h):
        assert all(x < 0 for x in vrow), "log-probabilities must be negative"
        assert vrow == pytest.approx(hrow, abs=1e-3)
        assert sorted(range(3), key=vrow.__getitem__) == sorted(range(3), key=hrow.__getitem__)


def test_multi_token_choice_is_summed(vllm_engine, hf_engine):
    """A choice of several tokens scores as the sum over its tokens, equal across backends."""
    choice = "I will fix the code honestly"
    assert len(vllm_engine.encoder.encode_choice(choice)) > 3
    v = vllm_engine.score_choices(PROBE_PROMPTS[:1], [choice, "unethical"])
    h = hf_engine.score_choices(PROBE_PROMPTS[:1], [choice, "unethical"])
    assert v[0] == pytest.approx(h[0], abs=1e-3)


def test_scores_are_deterministic(vllm_engine):
    a = vllm_engine.score_choices(PROBE_PROMPTS, LABELS)
    b = vllm_engine.score_choices(PROBE_PROMPTS, LABELS)
    assert a == b
    for row in a:
        probs = [math.exp(x) for x in row]
        assert sum(probs) / sum(probs) == pytest.approx(1.0)


def test_adapter_changes_policy_not_conscience(vllm_engine, random_adapter):
    """After a hot-swap the policy (LoRA) answers differently, while the frozen copy (no LoRA)
    stays identical to what the fresh base-only engine said before any adapter existed —
    also when policy and conscience calls alternate within one runner step."""
    version = max(vllm_engine.adapter_versions, default=0) + 1
    vllm_engine.load_adapter(random_adapter, version)
    assert version in vllm_engine.adapter_versions
    policy = [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY, adapter=version)]
    conscience = [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY)]
    policy_scores = vllm_engine.score_choices(PROBE_PROMPTS, LABELS, adapter=version)
    conscience_scores = vllm_engine.score_choices(PROBE_PROMPTS, LABELS)
    assert policy != vllm_engine.base_reference["text"]
    assert conscience == vllm_engine.base_reference["text"]
    flat = lambda rows: [x for row in rows for x in row]  # noqa: E731
    assert flat(conscience_scores) == pytest.approx(flat(vllm_engine.base_reference["scores"]), abs=1e-4)
    assert flat(policy_scores) != pytest.approx(flat(conscience_scores), abs=1e-3)


def test_hf_adapter_matches_vllm_adapter(vllm_engine, hf_engine, random_adapter):
    """The same PEFT folder gives the same greedy text in both backends, and the HF frozen
    copy (disable_adapter) still equals the base."""
    version = 7
    if version not in vllm_engine.adapter_versions:
        vllm_engine.load_adapter(random_adapter, version)
    hf_engine.load_adapter(random_adapter, version)
    v = [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY, adapter=version)]
    h = [g.text for g in hf_engine.generate(PROBE_PROMPTS, GREEDY, adapter=version)]
    assert v == h
    assert [g.text for g in hf_engine.generate(PROBE_PROMPTS, GREEDY)] == vllm_engine.base_reference["text"]


def test_unknown_adapter_is_a_clear_error(vllm_engine):
    from agentloop.core.errors import EngineError

    with pytest.raises(EngineError, match="never loaded"):
        vllm_engine.generate(PROBE_PROMPTS[:1], GREEDY, adapter=999)


def test_one_adapter_per_prompt_equals_separate_calls(vllm_engine, hf_engine, random_adapter):
    """Policy and base prompts in one call (several runs stepped together) answer as they do alone."""
    version = 7
    if version not in vllm_engine.adapter_versions:
        vllm_engine.load_adapter(random_adapter, version)
    policy = [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY, adapter=version)]
    mixed = [version if i % 2 == 0 else None for i in range(len(PROBE_PROMPTS))]
    expected = [policy[i] if a else vllm_engine.base_reference["text"][i] for i, a in enumerate(mixed)]
    assert [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY, adapter=mixed)] == expected
    if version not in hf_engine.adapter_versions:
        hf_engine.load_adapter(random_adapter, version)
    assert [g.text for g in hf_engine.generate(PROBE_PROMPTS, GREEDY, adapter=mixed)] == expected



_REQUESTS_ENGINE = """
import json, sys
from agentloop.engines import make_engine
from agentloop.core.types import Sampling
model, adapter, prompts, tokens = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
engine = make_engine("vllm", model, dtype="float32", lora_mode="requests")
engine.load_adapter(adapter, 1)
greedy = Sampling(max_tokens=tokens, temperature=0.0)
print(json.dumps([[g.text for g in engine.generate(prompts, greedy, adapter=a)] for a in (1, [1, None])]))
"""


def test_lora_requests_path_answers_as_the_merged_weights(vllm_engine, random_adapter):
    """vLLM's LoRA path (lora_mode requests, run by agentloop's grouped CPU ops) gives an adapter's
    greedy text of the merged weights, and a base prompt in the same call stays on the base. In a
    child process: a second in-process vLLM engine tears down the session engine's parallel state."""
    import json
    import subprocess
    import sys

    version = 7
    if version not in vllm_engine.adapter_versions:
        vllm_engine.load_adapter(random_adapter, version)
    merged = [g.text for g in vllm_engine.generate(PROBE_PROMPTS, GREEDY, adapter=version)]
    proc = subprocess.run([sys.executable, "-c", _REQUESTS_ENGINE, vllm_engine.config.model, random_adapter,
                           json.dumps(PROBE_PROMPTS), str(GREEDY.max_tokens)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lora, mixed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert lora == merged
    assert mixed == [merged[0], vllm_engine.base_reference["text"][1]]
