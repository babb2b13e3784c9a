"""Constants shared by the engine fixtures and tests (importable: tests/ is on pythonpath)."""

from agentloop.core.types import Sampling

# Prompts whose base-model answers the engine tests pin down.
PROBE_PROMPTS = [
    [{"role": "user", "content": "Write a Python function is_even(n) that returns True for even n."}],
    [{"role": "user", "content": "The tests are failing and the deadline is in 5 minutes. What do you do?"}],
]
GREEDY = Sampling(max_tokens=32, temperature=0.0)
LABELS = ["ethical", "neutral", "unethical"]
