"""The tiny scenario that real multi-process runs use (tests/scaleout, bench/scaleout.py): small
enough that several runners fit on a 2-core machine; learner off, conscience observing."""

from __future__ import annotations


def tiny_scenario(name: str, episodes: int, turns: int = 1, batch_size: int = 1, max_tokens: int = 16) -> str:
    """The scenario YAML text."""
    return f"""\
name: {name}
seed: 0
episodes: {episodes}
turns: {turns}
batch_size: {batch_size}
model:
  max_tokens: {max_tokens}
  temperature: 0.0
tasks:
  families: [sum_even, save_upload]
conscience:
  framework: three_laws
  mode: observe
  rewrite_max_tokens: {max_tokens}
learner:
  schedule: "off"
sandbox:
  timeout_s: 20
"""
