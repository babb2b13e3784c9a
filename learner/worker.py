"""A learner that stays loaded across rounds: one child process runs round after round, so torch, PEFT and
the base model's weights load once instead of once per round (issue 28: about a third of a short round).

    python -m learner.worker            # stdin: one RoundJob JSON per line; stdout: one answer per line

    from learner.worker import LearnerWorker
    with LearnerWorker() as worker:
        result = worker.run(job)        # a RoundResult; raises RoundFailed with the round's error

Each round is exactly what `python -m learner.round` would train: `learner.round.run_round` with the same
job, and `learner.train.load_policy` seeds torch after taking the base weights, so a cached copy of the
pristine base (`learner.train.keep_base`) gives the LoRA the same initial state as a fresh load. A round
that fails answers with its error and the worker goes on; a worker that dies (kill -9, OOM) is started
again for the next round, and the round's `training_rounds` row says what happened, as with a process
per round. The process stays separate from the caller for the same reason as before: one training
process owns the cores, and a crash in training cannot take the runner down.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from typing import IO, Any

from agentloop.core.logs import log_child_output
from learner.job import RoundJob, RoundResult

__all__ = ["LearnerWorker", "RoundFailed", "main"]

log = logging.getLogger(__name__)


class RoundFailed(RuntimeError):
    """The worker answered that the round failed (its message), or died during it."""


class LearnerWorker:
    """The parent's side: a `python -m learner.worker` child, started on first use, one round at a time. The
    child's stderr (its logs, its libraries' noise) becomes records of `subprocess.learner_round`, as a round
    process's does (agentloop.core.logs.log_child_output): the run's log file, never the terminal."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-m", "learner.worker"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
            threading.Thread(target=_relay, args=(self.proc.stderr,), name="learner-worker-stderr", daemon=True).start()
        return self.proc

    def run(self, job: RoundJob) -> RoundResult:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(job.to_json() + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except (BrokenPipeError, OSError) as e:
            line = ""
            log.warning("learner worker pipe failed: %s", e)
        if not line:  # the child died mid-round; the next round starts a new one
            code = proc.wait()
            raise RoundFailed(f"the learner worker exited ({code}) during the round of run {job.run_id}")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise RoundFailed(answer.get("error") or "the round failed")
        return RoundResult.from_json(json.dumps(answer["result"]))

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # end of input: the child returns
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> LearnerWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _relay(stream: IO[str]) -> None:
    """The child's stderr, line by line, into the parent's logging until the child closes it."""
    for line in stream:
        log_child_output("learner_round", line)


def main() -> int:
    """The child: rounds from stdin until it closes, each answered with one JSON line on stdout."""
    from agentloop.core.errors import AgentloopError
    from agentloop.config.learner_config import LearnerConfig
    from learner.round import run_round
    from learner.train import keep_base

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    keep_base(True)
    out = sys.stdout
    sys.stdout = sys.stderr  # a library's print must not break the answer protocol
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            job = RoundJob.from_json(line)
            result = run_round(job.db_url, job.run_id, job.model_path, job.adapters_dir, job.task_jsonl,
                               LearnerConfig.from_json(job.config_json))
            answer: dict[str, Any] = {"ok": True, "result": json.loads(result.to_json())}
        except AgentloopError as e:
            log.error("%s", e)
            answer = {"ok": False, "error": str(e)}
        except Exception as e:  # the round's row is marked failed by run_round; the worker goes on
            log.exception("learner round failed")
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
