"""`LearnerConfig`: one training round's settings, where every learner field is defined once.

    from agentloop.config.learner_config import LearnerConfig
    config = LearnerConfig(steps=8, dpo_weight=0.5)        # ConfigError naming the field if invalid
    LearnerConfig.from_json(config.to_json()) == config    # what `python -m learner.round --config` takes

Type, default, help and rule of each field live here. The scenario's `learner:` block
(agentloop/config/learner.py, `LearnerSettings`) is this class read from YAML, checked by the same
`FIELD_RULES` and `cross_field_problems`; the scenario supplies `seed` (its own), `dtype` (its
model's) and `every_s` (from `every: 10m`), and `Scenario.learner_config()` builds this type for the
round's command line. The organism's warm start and dose (agentloop/config/organism.py) set the
`DOSE_FIELDS` of it, under the same rules and with the same help. Every field is JSON-serialisable;
the JSON's key order is the field order (an adapter's checksum covers the `learner_config.json`
written beside it). Standard library and agentloop.core only: the learner process imports this module
and nothing else of agentloop.config (no pydantic, no registries).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from agentloop.core.dtypes import DTYPES
from agentloop.core.errors import ConfigError

Schedule = Literal["off", "between_episodes", "background"]
Device = Literal["auto", "cpu", "cuda"]
DtypeName = Literal["auto", "bfloat16", "float32"]
PairLoss = Literal["dpo", "sft"]
TaskReduction = Literal["token", "example"]
SCHEDULES = ("off", "between_episodes", "background")
PAIR_LOSSES = ("dpo", "sft")
TASK_REDUCTIONS = ("token", "example")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class LearnerConfig:
    """Settings of the learner. Losses: task_weight * task NLL + kl_weight * KL(policy || frozen copy) on the task
    data + dpo_weight * (DPO(beta) or the chosen answers' NLL, `pair_loss`), one optimizer, one clip."""

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
    task_reduction: TaskReduction = field(default="token", metadata={
        "help": "how the task NLL averages: token (every labelled token alike) | example (each example's tokens "
                "first, so a short label row weighs as much as a long answer)", "choices": TASK_REDUCTIONS})
    pair_loss: PairLoss = field(default="dpo", metadata={
        "help": "how pairs train, weight dpo_weight: dpo (chosen over rejected, against the frozen copy) | sft (NLL "
                "of the chosen answer alone: the distill control)", "choices": PAIR_LOSSES})
    kl_weight: float = field(default=0.0, metadata={
        "help": "weight of a per-token KL(policy || frozen copy) on the task data's answer tokens (the kl control); "
                "0 = not computed"})
    replay_share: float = field(default=0.3, metadata={"help": "earlier rounds' pairs replayed, as a share of new"})
    seed: int = field(default=0, metadata={"help": "seeds replay sampling, batch order and LoRA init"})
    device: Device = field(default="auto", metadata={"help": "auto = CUDA if present, else CPU"})
    dtype: DtypeName = field(default="auto", metadata={
        "help": "weights' dtype (LoRA weights stay fp32); auto = bf16 on CUDA and on a CPU with AMX/AVX512-BF16, "
                "else fp32 (agentloop.core.dtypes)", "choices": DTYPES})
    answer_logits_only: bool = field(default=True, metadata={
        "help": "project only the trained positions onto the vocabulary (learner/loss.py); False = the "
                "full-vocabulary log-softmax path"})
    reference_once: bool = field(default=False, metadata={
        "help": "compute the frozen reference's log-probs of every pair once per round (batches of 8) instead of "
                "in each step's batch; in bf16 a row's log-prob depends on its batch's shapes (~0.3 nats over an "
                "answer), so the reference then no longer equals a fresh policy exactly: off by default"})
    shared_prompt: bool = field(default=True, metadata={
        "help": "each preference pair as one row [prompt, chosen, rejected] with a 4-D attention mask, so its "
                "prompt is computed once instead of twice (learner/packing.py); the same log-probs"})
    length_buckets: bool = field(default=True, metadata={
        "help": "batch examples of similar length together (each epoch's shuffle sorted by length, cut into "
                "batches, the batches shuffled): less padding per step; every example still seen equally often"})

    def __post_init__(self) -> None:
        self.target_modules = tuple(self.target_modules)  # JSON gives a list
        for name, (ok, rule) in FIELD_RULES.items():
            if not ok(getattr(self, name)):
                raise ConfigError(f"learner.{name} {rule}, got {getattr(self, name)!r}")
        for problem in cross_field_problems(self):
            raise ConfigError(problem)

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


def field_help(name: str) -> str:
    """The help text of LearnerConfig's field `name` (a dose's description reuses it)."""
    return next(f.metadata["help"] for f in fields(LearnerConfig) if f.name == name)


# The fields a training dose sets (the organism's warm start and dose): how long, how big, how fast, which LoRA.
DOSE_FIELDS = ("steps", "batch_size", "lr", "lora_r", "lora_alpha", "target_modules", "max_length")

# What each field must satisfy: (check, rule as read after "learner.<field> ").
FIELD_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "schedule": (lambda v: v in SCHEDULES, f"must be one of {', '.join(SCHEDULES)}"),
    "device": (lambda v: v in DEVICES, f"must be one of {', '.join(DEVICES)}"),
    "dtype": (lambda v: v in DTYPES, f"must be one of {', '.join(DTYPES)}"),
    "every_episodes": (lambda v: v >= 1, "must be >= 1"),
    "every_s": (lambda v: v is None or v > 0, "must be > 0 seconds"),
    "steps": (lambda v: v >= 1, "must be >= 1"),
    "batch_size": (lambda v: v >= 1, "must be >= 1"),
    "max_length": (lambda v: v >= 16, "must be >= 16 tokens"),
    "lr": (lambda v: 0 < v < 1, "must be > 0 and < 1"),
    "lora_r": (lambda v: 1 <= v <= 512, "must be in [1, 512]"),
    "lora_alpha": (lambda v: v >= 1, "must be >= 1"),
    "target_modules": (lambda v: len(v) > 0, "must name at least one module"),
    "task_weight": (lambda v: v >= 0, "must be >= 0"),
    "dpo_weight": (lambda v: v >= 0, "must be >= 0"),
    "beta": (lambda v: v > 0, "must be > 0"),
    "task_reduction": (lambda v: v in TASK_REDUCTIONS, f"must be one of {', '.join(TASK_REDUCTIONS)}"),
    "pair_loss": (lambda v: v in PAIR_LOSSES, f"must be one of {', '.join(PAIR_LOSSES)}"),
    "kl_weight": (lambda v: v >= 0, "must be >= 0"),
    "replay_share": (lambda v: 0 <= v <= 1, "must be in [0, 1]"),
}


def cross_field_problems(config: Any) -> list[str]:
    """Rules over two fields (`config`: a LearnerConfig or the scenario's learner block)."""
    problems = []
    if config.schedule == "background" and getattr(config, "every_s", None) is None:
        problems.append("learner.schedule: background needs learner.every (e.g. every: 10m)")
    if getattr(config, "kl_weight", 0) > 0 and getattr(config, "task_reduction", "token") != "token":
        problems.append("learner.kl_weight averages over tokens: use task_reduction: token with it")
    if config.task_weight == 0 and config.dpo_weight == 0:
        problems.append("learner.task_weight and learner.dpo_weight are both 0: set one > 0 or use schedule: off")
    return problems
