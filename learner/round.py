"""One training round, end to end; also the process the runner and the scheduler spawn:

    python -m learner.round --db sqlite:///agentloop.db --run 1 --model PATH \
        --adapters runs/run-1/adapters --task-data runs/run-1/task_data.jsonl --config '{"steps": 8}'

Each round runs in its own process (one training process owns the cores; a crash or kill -9
cannot take the runner down). Under the run's round lock (`learner.lock`) it: cleans up after
dead rounds, opens a `training_rounds` row (status running), loads pairs + task data, trains from
the newest adapter of the run (continual), and publishes `v<N+1>` atomically (`learner.publish`).
Prints the RoundResult as one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select, update

from agentloop.errors import AgentloopError
from agentloop.types import Conversation
from learner.config import LearnerConfig
from learner.lock import round_lock
from learner.pairs import PairBatch, load_pairs, mark_trained
from learner.publish import promote, remove_stale_files, stage
from store import models as m
from store.models import utcnow
from store.session import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class RoundResult:
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
    pair_rows: int = 0  # preference examples processed: steps x batch_size (0 without DPO)

    @property
    def pairs_per_s(self) -> float:
        """Preference examples trained per second of the training loop."""
        return self.pair_rows / self.train_seconds if self.train_seconds else 0.0


def load_task_jsonl(path: str | Path | None) -> list[Conversation]:
    """The runner's task-pressure dataset: one {"messages": [...]} object per line."""
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
        recorded = set(s.scalars(select(m.AdapterRow.version).where(m.AdapterRow.run_id == run_id)))
        stale = s.execute(update(m.TrainingRoundRow)
                          .where(m.TrainingRoundRow.run_id == run_id, m.TrainingRoundRow.status == "running")
                          .values(status="failed", error="process died (found running by the next round)",
                                  finished_at=utcnow())).rowcount
    if stale:
        log.warning("marked %d stale running round(s) of run %d failed", stale, run_id)
    remove_stale_files(adapters_dir, recorded)
    return stale or 0


def _newest_adapter(store: Store, run_id: int) -> tuple[int, str] | None:
    with store.session() as s:
        row = s.execute(select(m.AdapterRow.version, m.AdapterRow.path).where(m.AdapterRow.run_id == run_id)
                        .order_by(m.AdapterRow.version.desc()).limit(1)).first()
        return (row.version, row.path) if row else None


def run_round(db_url: str, run_id: int, model_path: str, adapters_dir: str | Path, task_jsonl: str | Path | None,
              config: LearnerConfig) -> RoundResult:
    """Train one round and publish the next adapter version of the run."""
    adapters_dir = Path(adapters_dir).resolve()
    store = open_store(db_url, must_exist=True)
    store.require_current()
    with round_lock(db_url, run_id):
        cleanup(store, run_id, adapters_dir)
        parent = _newest_adapter(store, run_id)
        with store.session() as s:
            row = m.TrainingRoundRow(run_id=run_id, version=(parent[0] if parent else 0) + 1, status="running",
                                     started_at=utcnow())
            s.add(row)
            s.flush()
            round_id, version = row.id, row.version
        try:
            return _train_and_publish(store, round_id, version, parent, run_id, model_path, adapters_dir, task_jsonl,
                                      config)
        except BaseException as e:
            with store.session() as s:
                s.execute(update(m.TrainingRoundRow).where(m.TrainingRoundRow.id == round_id)
                          .values(status="failed", error="".join(traceback.format_exception_only(e)).strip()[:2000],
                                  finished_at=utcnow()))
            raise


def _train_and_publish(store: Store, round_id: int, version: int, parent: tuple[int, str] | None, run_id: int,
                       model_path: str, adapters_dir: Path, task_jsonl: str | Path | None,
                       config: LearnerConfig) -> RoundResult:
    from learner.train import encode_round, load_policy, pick_device, train

    t0 = time.perf_counter()
    with store.session() as s:
        pairs: PairBatch = load_pairs(s, run_id, config.replay_share, seed=config.seed * 7919 + round_id)
    task = load_task_jsonl(task_jsonl) if config.task_weight > 0 else []
    device, dtype = pick_device(config)
    model, tokenizer = load_policy(model_path, parent[1] if parent else None, config, device, dtype)
    data = encode_round(tokenizer, pairs.examples if config.dpo_weight > 0 else [], task, config.max_length)
    if not data.pairs and config.dpo_weight > 0:
        log.warning("round %d: no usable preference pairs (skipped: %s); training the task loss only",
                    round_id, pairs.skipped or "none")
    if not data.pairs and not data.task:
        raise AgentloopError(f"run {run_id} has no usable preference pairs and no task data yet; "
                             "run episodes with the conscience on, or pass --task-data")
    trained = train(model, tokenizer, data, config, device, round_seed=round_id)
    tmp = stage(model, adapters_dir, version, config.to_json())
    path, digest = promote(tmp, adapters_dir, version)
    seconds = time.perf_counter() - t0
    result = RoundResult(run_id=run_id, round_id=round_id, version=version, adapter_path=str(path), checksum=digest,
                         losses=trained.summary(), n_pairs=pairs.n_new if data.pairs else 0,
                         n_replay=pairs.n_replay if data.pairs else 0, n_task=len(data.task), skipped=pairs.skipped,
                         steps=len(trained.steps), seconds=seconds, train_seconds=trained.seconds, device=device,
                         parent_version=parent[0] if parent else None,
                         pair_rows=len(trained.steps) * config.batch_size if data.pairs else 0)
    _record(store, result, pairs)
    log.info("round %d published adapter v%d (%s) in %.1fs", round_id, version, path, seconds)
    return result


def _record(store: Store, result: RoundResult, pairs: PairBatch) -> None:
    """One transaction: the adapters row, the finished round, and which pairs it consumed."""
    with store.session() as s:
        s.add(m.AdapterRow(run_id=result.run_id, version=result.version, path=result.adapter_path,
                           checksum=result.checksum, round_id=result.round_id, published_at=utcnow()))
        s.execute(update(m.TrainingRoundRow).where(m.TrainingRoundRow.id == result.round_id).values(
            status="done", steps=result.steps, losses=result.losses, n_pairs=result.n_pairs, n_task=result.n_task,
            n_replay=result.n_replay, n_skipped=result.skipped, seconds=result.seconds, device=result.device,
            finished_at=utcnow()))
        if result.n_pairs or result.skipped:
            mark_trained(s, pairs, result.round_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m learner.round", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of the store")
    parser.add_argument("--run", type=int, required=True, help="run id whose pairs train its adapter")
    parser.add_argument("--model", required=True, help="base model (HF folder or hub id)")
    parser.add_argument("--adapters", required=True, help="folder of the run's adapter versions")
    parser.add_argument("--task-data", default=None, help="task-pressure dataset, messages JSONL")
    parser.add_argument("--config", default="{}", help="LearnerConfig as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        result = run_round(args.db, args.run, args.model, args.adapters, args.task_data,
                           LearnerConfig.from_json(args.config))
    except AgentloopError as e:
        log.error("%s", e)
        return 2
    print(json.dumps({**asdict(result), "pairs_per_s": result.pairs_per_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
