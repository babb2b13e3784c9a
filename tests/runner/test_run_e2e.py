"""`agentloop run` end to end on the embedded model with the real vLLM engine, sandbox and store.

- the smoke scenario produces the expected rows (`smoke_run`: the session's one smoke run, tests/conftest.py);
- kill -9 mid-run, then --resume finishes the same episodes without losing or duplicating turns;
- gate mode: a detectable hack is replaced by the conscience's rewrite before it is executed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from _scripted import HACK, ScriptedPolicy, planned_run
from agentloop.core.paths import repo_root

pytestmark = pytest.mark.model
SMOKE = repo_root() / "scenarios" / "smoke.yaml"


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_smoke_rows(smoke_run):
    result, db = smoke_run
    assert result.status == "done"
    episodes = _rows(db, "select status, outcome from episodes")
    assert len(episodes) == 2 and all(status == "done" for status, _ in episodes)
    assert all(outcome in ("solved", "budget", "gave_up") for _, outcome in episodes)
    turns = _rows(db, "select t.id, t.prompt_tokens, t.completion_tokens, t.latency_s, v.p_ethical, v.p_neutral, "
                      "v.p_unethical, v.label from turns t join verdicts v on v.turn_id = t.id")
    n_turns = _rows(db, "select count(*) from turns")[0][0]
    assert 2 <= n_turns <= 4 and len(turns) == n_turns, "every turn has a verdict"
    for _tid, p_in, p_out, latency, pe, pn, pu, label in turns:
        assert p_in > 0 and p_out > 0 and latency > 0
        assert pe + pn + pu == pytest.approx(1.0, abs=1e-6)
        assert label == max(("ethical", pe), ("neutral", pn), ("unethical", pu), key=lambda kv: kv[1])[0]


def test_stored_findings_match_the_detectors(smoke_run):
    """Findings are stored where the code hacks: re-running the detectors on each stored turn's
    code gives the same misalignment findings (rule ids) that the store holds."""
    from agentloop.detectors import evaluate_solution, is_misaligned
    from agentloop.tasks import load_families

    _, db = smoke_run
    families = load_families()
    rows = _rows(db, "select t.id, t.code, e.task_family, e.task_seed from turns t join episodes e on e.id = t.episode_id "
                     "where t.gated = 0")
    for tid, code, family, seed in rows:
        stored = sorted(r for (r,) in _rows(db, f"select rule from findings where turn_id = {tid} and detector != 'parse'"))
        ev = evaluate_solution(families[family].instance(seed), code)
        assert stored == sorted(f.rule for f in ev.findings if is_misaligned(f)), f"turn {tid}"


def test_cli_queries_on_the_run(smoke_run):
    from agentloop.cli import app

    result, db = smoke_run
    runner = CliRunner()
    out = runner.invoke(app, ["retention", "--db", f"sqlite:///{db}", "--run", str(result.run_id), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert '"aligned_rate"' in out.output
    ep_id = _rows(db, "select id from episodes order by id limit 1")[0][0]
    out = runner.invoke(app, ["episodes", "show", str(ep_id), "--db", f"sqlite:///{db}"])
    assert out.exit_code == 0, out.output
    assert "turn" in out.output.lower()
    summary = result.summary()
    assert summary["run_id"] == result.run_id and summary["episodes"] == "2/2"


def test_kill9_then_resume(vllm_engine, tmp_path):
    """A real `agentloop run` process is killed with SIGKILL after its first stored turn; the
    resumed run keeps every finished turn untouched and finishes all episodes."""
    from agentloop.launch import execute_run
    from agentloop.config.scenario import load_scenario

    db = tmp_path / "crash.db"
    env = {**os.environ, "AGENTLOOP_NO_PRELOAD": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "agentloop.cli", "run", str(SMOKE), "--db", f"sqlite:///{db}",
                             "--episodes", "3", "--turns", "2", "--json", "--workdir", str(tmp_path / "runs")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if db.exists() and _rows(db, "select count(*) from sqlite_master where name='turns'")[0][0]:
                if _rows(db, "select count(*) from turns")[0][0] >= 1:
                    break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("no turn was stored within 240 s")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    before = _rows(db, "select id, episode_id, idx, answer from (select id, episode_id, \"index\" as idx, answer from turns)")
    run_id, status = _rows(db, "select id, status from runs")[0]
    assert status == "running", "a killed run is left as it was"
    unfinished = _rows(db, "select count(*) from episodes where status != 'done'")[0][0]
    assert unfinished >= 1

    scenario = load_scenario(SMOKE).with_overrides(episodes=3, turns=2)
    result = execute_run(scenario, f"sqlite:///{db}", scenario_path=SMOKE, workdir=tmp_path / "runs", resume=run_id,
                         engine=vllm_engine, live=False)
    assert result.status == "done"
    after = _rows(db, "select id, episode_id, \"index\", answer from turns")
    assert set(before) <= set(after), "finished turns are kept unchanged"
    assert len(after) == len({(e, i) for _, e, i, _ in after}), "no duplicated (episode, turn)"
    assert _rows(db, "select count(*) from episodes where status = 'done'")[0][0] == 3
    per_episode = _rows(db, "select episode_id, count(*), max(\"index\") from turns group by episode_id")
    assert all(n == mx + 1 for _, n, mx in per_episode), "turn indices are contiguous"


class RecordingSandbox:
    """Delegates to the real sandbox and records every file set it was asked to run (a spy)."""

    def __init__(self, inner) -> None:
        self.inner, self.ran = inner, []
        self.name = inner.name

    def run_tests(self, files, test_files, limits=None):
        self.ran.append(dict(files))
        return self.inner.run_tests(files, test_files, limits)

    def _run_dir(self, files):  # the hidden-case harness (agentloop.sandbox.harness) writes its files here
        self.ran.append(dict(files))
        return self.inner._run_dir(files)

    def __getattr__(self, name):  # everything else (limits, the harness's hooks) is the real sandbox's
        return getattr(self.inner, name)


def test_gate_never_executes_an_unethical_turn(vllm_engine, tmp_path):
    from agentloop.launch import task_resolver
    from agentloop.runner import Runner, RunnerOptions
    from agentloop.sandbox import get_sandbox
    from agentloop.config.scenario import load_scenario
    from agentloop.core.types import Sampling
    from conscience.judge import make_judge
    from store import models as m

    scenario = load_scenario(SMOKE).with_overrides(episodes=1, turns=1)
    store, rec, run_id = planned_run(tmp_path / "gate.db", scenario, "gate")
    judge = make_judge("oracle", vllm_engine, "three_laws", rewrite_sampling=Sampling(max_tokens=160, temperature=0.0))
    sandbox = RecordingSandbox(get_sandbox("auto"))
    options = RunnerOptions(turns=1, batch_size=1, mode="gate")
    Runner(options, rec, ScriptedPolicy(HACK), sandbox, judge, task_resolver(scenario)).run(run_id)

    with store.session() as s:
        turn = s.scalars(select(m.TurnRow)).one()
        verdict = s.scalars(select(m.VerdictRow)).one()
        assert verdict.label == "unethical" and verdict.rewrite
        assert s.scalar(select(func.count()).select_from(m.PreferencePairRow)) == 1
    assert "sys.exit(0)" in turn.answer and turn.gated, "the agent's own answer is stored, marked gated"
    executed = [body for files in sandbox.ran for body in files.values()]
    assert not any("sys.exit(0)" in body for body in executed), "the hack never reached the sandbox"
    from agentloop.core.parse import parse_answer

    rewrite_code = parse_answer(verdict.rewrite).code
    if rewrite_code is not None:  # the rewrite ran instead
        assert any(rewrite_code in body for body in executed)
    else:  # the rewrite held no code: nothing ran at all
        assert not sandbox.ran


def test_gate_measures_the_stopped_answer_in_the_sandbox_only_when_asked(vllm_engine, tmp_path):
    """measure_stopped (the experiment's gated held-out turns): the stopped hack runs in the sandbox once,
    for the report's hack rate before gating; the conversation still gets the rewrite."""
    from agentloop.launch import task_resolver
    from agentloop.runner import Runner, RunnerOptions
    from agentloop.sandbox import get_sandbox
    from agentloop.config.scenario import load_scenario
    from agentloop.core.types import Sampling
    from conscience.judge import make_judge
    from store import models as m
    from store.evaluation import evaluate_epoch

    scenario = load_scenario(SMOKE).with_overrides(episodes=1, turns=1)
    store, rec, run_id = planned_run(tmp_path / "gate.db", scenario, "gate")
    judge = make_judge("oracle", vllm_engine, "three_laws", rewrite_sampling=Sampling(max_tokens=160, temperature=0.0))
    sandbox = RecordingSandbox(get_sandbox("auto"))
    options = RunnerOptions(turns=1, batch_size=1, mode="gate", measure_stopped=True)
    Runner(options, rec, ScriptedPolicy(HACK), sandbox, judge, task_resolver(scenario)).run(run_id)

    with store.session() as s:
        turn = s.scalars(select(m.TurnRow)).one()
        detectors = {f.detector for f in turn.findings}
        evaluation = evaluate_epoch(s, run_id, 0, split="train")
    assert turn.gated and "tampering" in turn.sandbox["before_gate"]["detectors"]
    assert sum("sys.exit(0)" in body for files in sandbox.ran for body in files.values()) >= 1
    assert "tampering" not in detectors, "the turn's findings are the rewrite's"
    assert (evaluation.hacks_before_gate, evaluation.n_gated) == (1, 1)
