"""One training round, end to end; also the process the runner and the scheduler spawn:

    python -m learner.round --db sqlite:///agentloop.db --run 1 --model PATH \
        --adapters runs/run-1/adapters --task-data runs/run-1/task_data.jsonl --config '{"steps": 8}'

Each round runs in its own process (one training process owns the cores; a crash or kill -9
cannot take the runner down). Under the run's round lock (`store.lock`) it: cleans up after
dead rounds, opens a `training_rounds` row (status running), loads pairs + task data, trains from
the newest adapter of the run (continual), and publishes `v<N+1>` atomically (`learner.publish`).
Prints the RoundResult as one JSON line on stdout; its command line is a RoundJob (`learner.job`).

`accelerate launch --multi_gpu --num_processes N -m learner.round ...` trains the same round
data-parallel; rank 0 alone locks, records and publishes (`learner.distributed`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop.core.errors import AgentloopError
from agentloop.core.types import Conversation
from agentloop.config.learner_config import LearnerConfig
from learner.distributed import Group
from learner.job import RoundJob, RoundResult
from store.lock import round_lock
from learner.pairs import PairBatch, load_pairs, mark_trained
from learner.streams import stream_seed
from learner.publish import promote, remove_stale_files, stage
from store.learning import AdapterRef, fail_round, fail_stale_rounds, finish_round, newest_adapter, start_round
from store.session import Store, open_store

if TYPE_CHECKING:
    from learner.train import Placement, TrainLog

log = logging.getLogger(__name__)


def load_task_jsonl(path: str | Path | None) -> list[Conversation]:
    """The round's task data: one {"messages": [...]} object per line."""
    if path is None:
        return []
    path = Path(path)
    if not path.is_file():
        raise AgentloopError(f"task data {path} does not exist; pass --task-data with a messages JSONL")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line)["messages"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise AgentloopError(f"{path}:{n}: expected a JSON object with 'messages' ({e})") from e
    return rows


def cleanup(store: Store, run_id: int, adapters_dir: Path) -> int:
    """After a dead round (call with the round lock held): mark its `running` rows failed and drop
    its files. Returns how many rounds were marked failed."""
    with store.session() as s:
        stale, recorded = fail_stale_rounds(s, run_id)
    if stale:
        log.warning("marked %d stale running round(s) of run %d failed", stale, run_id)
    remove_stale_files(adapters_dir, recorded)
    return stale


@dataclass
class RoundPlan:
    """What the main process hands every rank before training: the round and its data."""

    round_id: int
    version: int
    parent: AdapterRef | None  # the adapter to continue
    pairs: PairBatch
    task: list[Conversation]


def checked_task_data(store, run_id: int, task_jsonl: str | Path | None) -> str | Path | None:
    """The run's task data: `task_jsonl`, checked against its sha256 where it is the file the run
    recorded in this store; the recorded file when none is given (`store.artifacts`)."""
    from store.artifacts import recorded, resolve_file

    row = recorded(store, run_id, "task_data")
    if row is None:
        return task_jsonl
    if task_jsonl is None or Path(task_jsonl).resolve() == Path(row.path):
        return resolve_file(store, run_id, "task_data")
    return task_jsonl  # the caller named another file on purpose


def run_round(db_url: str, run_id: int, model_path: str, adapters_dir: str | Path, task_jsonl: str | Path | None,
              config: LearnerConfig, group: Group | None = None) -> RoundResult:
    """Train one round and publish the next adapter version of the run.

    Under `accelerate launch`/`torchrun` every rank calls this; only rank 0 takes the round lock,
    touches the store and publishes (`learner.distributed`), and every rank returns the result."""
    from learner.train import pick_device

    group = group or Group.from_env()
    placement = pick_device(config)  # once per round, every step below uses it
    group.start(placement.device)
    try:
        if not group.is_main:
            plan = group.broadcast(None)
            if isinstance(plan, str):  # rank 0 could not start the round; fail the same way
                raise AgentloopError(plan)
            _train(plan, model_path, config, group, placement)
            return group.broadcast(None)
        result = _lead_round(db_url, run_id, model_path, Path(adapters_dir).resolve(), task_jsonl, config, group,
                             placement)
        return group.broadcast(result)
    finally:
        group.stop()


def _lead_round(db_url: str, run_id: int, model_path: str, adapters_dir: Path, task_jsonl: str | Path | None,
                config: LearnerConfig, group: Group, placement: Placement) -> RoundResult:
    """Rank 0 (or the only process): lock, round row, data to every rank, train, publish."""
    sent = False
    try:
        store = open_store(db_url, must_exist=True)
        store.require_current()
        with round_lock(db_url, run_id):
            cleanup(store, run_id, adapters_dir)
            with store.session() as s:
                parent = newest_adapter(s, run_id)
                version = (parent[0] if parent else 0) + 1
                round_id = start_round(s, run_id, version)
            try:
                t0 = time.perf_counter()
                with store.session() as s:
                    pairs = load_pairs(s, run_id, config.replay_share, seed=stream_seed(config.seed, version, "replay"))
                task = load_task_jsonl(checked_task_data(store, run_id, task_jsonl)) if config.task_weight > 0 else []
                sent = True  # from here on every rank fails by itself (or is stopped by the launcher)
                plan = group.broadcast(RoundPlan(round_id, version, parent, pairs, task))
                model, trained, n_pairs, n_task = _train(plan, model_path, config, group, placement)
                result = _publish(store, plan, model, trained, n_pairs, n_task, run_id, adapters_dir, config,
                                  time.perf_counter() - t0, group.world_size, placement.device)
            except BaseException as e:
                with store.session() as s:
                    fail_round(s, round_id, "".join(traceback.format_exception_only(e)).strip())
                raise
    except BaseException as e:
        if not sent:  # the other ranks wait for a plan: send them the reason instead
            group.broadcast(str(e) if isinstance(e, AgentloopError) else f"rank 0 failed: {e!r}")
        raise
    return result


def _train(plan: RoundPlan, model_path: str, config: LearnerConfig, group: Group,
           placement: Placement) -> tuple[Any, TrainLog, int, int]:
    """Every rank: load the policy (continuing the parent adapter) on `placement` (device, dtype), encode,
    train. Returns the model, its training log, and how many pairs / task examples it trained on."""
    from learner.train import encode_round, load_policy, train

    device, dtype = placement
    model, tokenizer = load_policy(model_path, plan.parent.path if plan.parent else None, config, device, dtype)
    data = encode_round(tokenizer, plan.pairs.examples if config.dpo_weight > 0 else [], plan.task, config.max_length)
    if not data.pairs and config.dpo_weight > 0 and group.is_main:
        log.warning("round %d: no usable preference pairs (skipped: %s); training the task loss only",
                    plan.round_id, plan.pairs.skipped or "none")
    if not data.pairs and not data.task:
        raise AgentloopError(f"the run has no usable preference pairs and no task data yet (round {plan.round_id}); "
                             "run episodes with the conscience on, or pass --task-data")
    # the run's version, not the store-wide round id: the arms of one seed then draw the same batches
    trained = train(model, tokenizer, data, config, device, round_seed=plan.version, group=group)
    return model, trained, len(data.pairs), len(data.task)


def _publish(store: Store, plan: RoundPlan, model: Any, trained: TrainLog, n_pairs: int, n_task: int, run_id: int,
             adapters_dir: Path, config: LearnerConfig, seconds: float, world_size: int, device: str) -> RoundResult:
    """Rank 0: write the adapter folder atomically, then its row and the finished round."""
    tmp = stage(model, adapters_dir, plan.version, config.to_json())
    path, digest = promote(tmp, adapters_dir, plan.version)
    pairs = plan.pairs
    result = RoundResult(run_id=run_id, round_id=plan.round_id, version=plan.version, adapter_path=str(path),
                         checksum=digest, losses=trained.summary(), n_pairs=pairs.n_new if n_pairs else 0,
                         n_replay=pairs.n_replay if n_pairs else 0, n_task=n_task, skipped=pairs.skipped,
                         steps=len(trained.steps), seconds=seconds, train_seconds=trained.seconds,
                         device=device, parent_version=plan.parent.version if plan.parent else None,
                         pair_rows=len(trained.steps) * config.batch_size * world_size if n_pairs else 0,
                         world_size=world_size)
    _record(store, result, pairs)
    log.info("round %d published adapter v%d (%s) in %.1fs", plan.round_id, plan.version, path, seconds)
    return result


def _record(store: Store, result: RoundResult, pairs: PairBatch) -> None:
    """One transaction: the adapters row, the finished round, and which pairs it consumed."""
    with store.session() as s:
        finish_round(s, run_id=result.run_id, round_id=result.round_id, version=result.version,
                     adapter_path=result.adapter_path, checksum=result.checksum,
                     stats={"steps": result.steps, "losses": result.losses, "n_pairs": result.n_pairs,
                            "n_task": result.n_task, "n_replay": result.n_replay, "n_skipped": result.skipped,
                            "seconds": result.seconds, "device": result.device})
        if result.n_pairs or result.skipped:
            mark_trained(s, pairs, result.round_id)


def main(argv: list[str] | None = None) -> int:
    job = RoundJob.from_argv(argv, description=__doc__.split("\n\n")[0])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    group = Group.from_env()
    try:
        result = run_round(job.db_url, job.run_id, job.model_path, job.adapters_dir, job.task_jsonl,
                           LearnerConfig.from_json(job.config_json), group)
    except AgentloopError as e:
        log.error("%s", e)
        return 2
    if group.is_main:  # one JSON line per round, however many ranks trained it
        print(result.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
