"""`LearnerConfig`: one training round's settings (the scenario's `learner:` block, same names).

The runner builds it from the scenario (`LearnerConfig(**fields)`) and hands it to the round
process as JSON (`--config`), so every field here is JSON-serialisable and checked on entry.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from agentloop.dtypes import DTYPES
from agentloop.errors import ConfigError

Schedule = Literal["off", "between_episodes", "background"]
Device = Literal["auto", "cpu", "cuda"]
DtypeName = Literal["auto", "bfloat16", "float32"]
SCHEDULES = ("off", "between_episodes", "background")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class LearnerConfig:
    """Settings of the learner. Losses: task_weight * task NLL + dpo_weight * DPO(beta)."""

    schedule: Schedule = field(default="between_episodes", metadata={"help": "when rounds run", "choices": SCHEDULES})
    every_episodes: int = field(default=2, metadata={"help": "between_episodes: a round after this many episodes"})
    every_s: float | None = field(default=None, metadata={"help": "background: seconds between rounds"})
    steps: int = field(default=8, metadata={"help": "optimizer steps per round (one per batch)"})
    batch_size: int = field(default=2, metadata={"help": "pairs (and task examples) per step"})
    max_length: int = field(default=512, metadata={"help": "tokens per sequence (prompt + answer), truncated"})
    lr: float = field(default=1e-4, metadata={"help": "AdamW learning rate"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank (first round only; later rounds continue it)"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha (first round only)"})
    target_modules: tuple[str, ...] = field(default=("q_proj", "v_proj"), metadata={"help": "LoRA target modules"})
    task_weight: float = field(default=1.0, metadata={"help": "weight of the task NLL; 0 = not computed"})
    dpo_weight: float = field(default=1.0, metadata={"help": "lambda, weight of DPO on the pairs; 0 = not computed"})
    beta: float = field(default=0.1, metadata={"help": "DPO temperature (strength of the pull from the reference)"})
    replay_share: float = field(default=0.3, metadata={"help": "earlier rounds' pairs replayed, as a share of new"})
    seed: int = field(default=0, metadata={"help": "seeds replay sampling, batch order and LoRA init"})
    device: Device = field(default="auto", metadata={"help": "auto = CUDA if present, else CPU"})
    dtype: DtypeName = field(default="auto", metadata={
        "help": "weights' dtype (LoRA weights stay fp32); auto = bf16 on CUDA and on a CPU with AMX/AVX512-BF16, "
                "else fp32 (agentloop.dtypes)", "choices": DTYPES})
    answer_logits_only: bool = field(default=True, metadata={
        "help": "project only the trained positions onto the vocabulary (learner/loss.py); False = the "
                "full-vocabulary log-softmax path"})
    reference_once: bool = field(default=False, metadata={
        "help": "compute the frozen reference's log-probs of every pair once per round (batches of 8) instead of "
                "in each step's batch; in bf16 a row's log-prob depends on its batch's shapes (~0.3 nats over an "
                "answer), so the reference then no longer equals a fresh policy exactly: off by default"})

    def __post_init__(self) -> None:
        self.target_modules = tuple(self.target_modules)  # JSON gives a list
        checks: list[tuple[bool, str]] = [
            (self.schedule in SCHEDULES, f"learner.schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (self.device in DEVICES, f"learner.device must be one of {DEVICES}, got {self.device!r}"),
            (self.dtype in DTYPES, f"learner.dtype must be one of {DTYPES}, got {self.dtype!r}"),
            (self.every_episodes >= 1, "learner.every_episodes must be >= 1"),
            (self.every_s is None or self.every_s > 0, "learner.every_s must be > 0 seconds"),
            (self.schedule != "background" or self.every_s is not None,
             "learner.schedule: background needs learner.every (e.g. every: 10m)"),
            (self.steps >= 1, "learner.steps must be >= 1"),
            (self.batch_size >= 1, "learner.batch_size must be >= 1"),
            (self.max_length >= 16, "learner.max_length must be >= 16 tokens"),
            (self.lr > 0, "learner.lr must be > 0"),
            (self.lora_r >= 1 and self.lora_alpha >= 1, "learner.lora_r and learner.lora_alpha must be >= 1"),
            (len(self.target_modules) > 0, "learner.target_modules must name at least one module"),
            (self.task_weight >= 0 and self.dpo_weight >= 0, "learner.task_weight and learner.dpo_weight must be >= 0"),
            (self.task_weight > 0 or self.dpo_weight > 0, "learner.task_weight and learner.dpo_weight are both 0: "
                                                          "set one > 0 or use schedule: off"),
            (self.beta > 0, "learner.beta must be > 0"),
            (0 <= self.replay_share <= 1, "learner.replay_share must be in [0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @classmethod
    def from_json(cls, text: str) -> LearnerConfig:
        """Parse `--config` JSON; unknown keys are an error that names them."""
        try:
            data: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"learner --config is not valid JSON: {e}") from e
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"learner --config has unknown keys {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(asdict(self))
