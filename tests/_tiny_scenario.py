"""The tiny scenario that real multi-process runs use (tests/scaleout, bench/scaleout.py): small
enough that several runners fit on a 2-core machine; learner off, conscience observing."""

from __future__ import annotations

from pathlib import Path

import yaml

from agentloop.core.paths import repo_root


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


def tiny_copy(scenario_file: str, folder: Path, name: str, **learner: object) -> Path:
    """scenarios/<scenario_file> at its smallest (1 episode of 1 turn, 32 tokens, `learner` fields
    overridden), written to folder/<name>.yaml: what the terminal tests run through the real CLI."""
    scenario = yaml.safe_load((repo_root() / "scenarios" / scenario_file).read_text())
    scenario.update(name=name, episodes=1, turns=1, batch_size=1)
    scenario["model"]["max_tokens"] = 32
    scenario.setdefault("conscience", {})["rewrite_max_tokens"] = 32
    scenario.setdefault("learner", {}).update(learner)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path
