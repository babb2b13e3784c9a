"""The learner hop: what a round process is asked (`RoundJob`) and what it answers (`RoundResult`).

    from learner.job import RoundJob, RoundResult
    job = RoundJob(db_url="sqlite:///agentloop.db", run_id=1, model_path=PATH, adapters_dir="runs/run-1/adapters",
                   task_jsonl="runs/run-1/task_data.jsonl", config_json=config.to_json())
    proc = subprocess.run(job.command(), capture_output=True, text=True)   # python -m learner.round --db ...
    result = RoundResult.from_stdout(proc.stdout)                          # the round's one JSON line

`RoundJob.from_argv` parses that command line again (`python -m learner.round`), so the runner
(agentloop.launch.Learning), the background scheduler (learner.scheduler, which stores a job's
fields with its schedule) and the round itself share one description of a round. `RoundResult` is
what a round prints on stdout, one JSON line (`to_json`), and what its callers read back.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["RoundJob", "RoundResult"]


@dataclass(frozen=True)
class RoundJob:
    """One learner round to run: the store and run, the base model, the run's adapter folder, its task
    data (messages JSONL, None: no task loss data) and the LearnerConfig as JSON. The field names are
    also the keyword arguments a stored schedule keeps (learner.scheduler): renaming one orphans them."""

    db_url: str
    run_id: int
    model_path: str
    adapters_dir: str
    task_jsonl: str | None = None
    config_json: str = "{}"

    def argv(self) -> list[str]:
        """The round's options, as `python -m learner.round` (and `agentloop learner start`) take them."""
        args = ["--db", self.db_url, "--run", str(self.run_id), "--model", self.model_path,
                "--adapters", self.adapters_dir]
        if self.task_jsonl:
            args += ["--task-data", self.task_jsonl]
        return args + ["--config", self.config_json]

    def command(self) -> list[str]:
        """The command line of a round process running this job."""
        return [sys.executable, "-m", "learner.round", *self.argv()]

    @classmethod
    def from_argv(cls, argv: list[str] | None = None, description: str = "") -> RoundJob:
        parser = argparse.ArgumentParser(prog="python -m learner.round", description=description)
        parser.add_argument("--db", required=True, help="SQLAlchemy URL of the store")
        parser.add_argument("--run", type=int, required=True, help="run id whose pairs train its adapter")
        parser.add_argument("--model", required=True, help="base model (HF folder or hub id)")
        parser.add_argument("--adapters", required=True, help="folder of the run's adapter versions")
        parser.add_argument("--task-data", default=None, help="the round's task data, messages JSONL")
        parser.add_argument("--config", default="{}", help="LearnerConfig as JSON")
        args = parser.parse_args(argv)
        return cls(db_url=args.db, run_id=args.run, model_path=args.model, adapters_dir=args.adapters,
                   task_jsonl=args.task_data, config_json=args.config)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RoundJob:
        return cls(**json.loads(text))


@dataclass
class RoundResult:
    """What one round did: the adapter it published, its losses and its data counts."""

    run_id: int
    round_id: int
    version: int
    adapter_path: str
    checksum: str
    losses: dict[str, dict[str, float]]  # component -> first/last/mean
    n_pairs: int  # new pairs trained on
    n_replay: int
    n_task: int
    skipped: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    train_seconds: float = 0.0
    device: str = "cpu"
    parent_version: int | None = None
    pair_rows: int = 0  # preference examples processed: steps x batch_size x world_size (0 without DPO)
    world_size: int = 1  # training processes (ranks) of the round

    @property
    def pairs_per_s(self) -> float:
        """Preference examples trained per second of the training loop."""
        return self.pair_rows / self.train_seconds if self.train_seconds else 0.0

    def to_json(self) -> str:
        """The round's stdout line: every field, and pairs_per_s."""
        return json.dumps({**asdict(self), "pairs_per_s": self.pairs_per_s})

    @classmethod
    def from_json(cls, text: str) -> RoundResult:
        data: dict[str, Any] = json.loads(text)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    @classmethod
    def from_stdout(cls, stdout: str) -> RoundResult:
        """The result a round process printed: the last line of its stdout."""
        return cls.from_json(stdout.strip().splitlines()[-1])
