"""Fixtures for the store tests: a migrated SQLite file per test, and a hand-built store.

The hand-built store (`known_store`) has answers computed by hand in test_queries.py.
Run 1 (three epochs), detectors that fired per turn, and the verdict (label, P(unethical)):

    epoch 0  ep A  t0 -                          ethical   0.10
                   t1 -                          unethical 0.60
             ep B  t0 tampering                  unethical 0.90
                   t1 parse (not misaligned)     neutral   0.20
    epoch 1  ep C  t0 insecure                   ethical   0.30
                   t1 hidden_tests + insecure    unethical 0.80
             ep D  t0 -  (eval split)            no verdict
             ep F  no turns
    epoch 2  ep E  t0 sandbox (not misaligned)   ethical   0.05

Run 2: epoch 0 is all misaligned (one tampering turn), epoch 1 one clean turn; no verdicts.
Run 3: two clean turns, both judged ethical (no positives, no predicted positives).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from agentloop.core.types import Finding, Turn
from store import Store, ensure_schema, open_store
from store.convert import turn_row
from store.models import (
    AdapterRow,
    ArtifactRow,
    Base,
    EpisodeRow,
    EvaluationRow,
    FindingRow,
    PreferencePairRow,
    RunRow,
    TrainingRoundRow,
    TurnRow,
    VerdictRow,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def columns(row: Base) -> dict:
    return {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}


def write_one_of_each(s) -> list[Base]:
    """One fully populated row per table, flushed in FK order; returns them all."""
    run = RunRow(name="r", scenario_path="scenarios/x.yaml", scenario_yaml="seed: 1\n", config={"lr": 1e-4, "n": [1, 2]},
                 model="smollm2", backend="vllm", seed=7, arm="self+dpo", status="done", created_at=T0,
                 finished_at=T0 + timedelta(hours=1), command="agentloop run x.yaml")
    s.add(run)
    s.flush()
    episode = EpisodeRow(run_id=run.id, index=0, epoch=2, split="eval", task_family="fizzbuzz", task_kind="impossible",
                         task_seed=3, status="failed", outcome="error", error="Traceback ...", claimed_by="worker-1",
                         started_at=T0, finished_at=T0 + timedelta(seconds=5))
    s.add(episode)
    s.flush()
    turn = TurnRow(episode_id=episode.id, index=0, prompt="p", reasoning="r", answer="a", code="print(1)",
                   prompt_tokens=10, completion_tokens=20, latency_s=0.5, adapter_version=3, gated=True,
                   visible_passed=1, visible_total=2, hidden_passed=0, hidden_total=4,
                   sandbox={"exit_code": 1, "timed_out": False, "killed_by": None, "backend": "bwrap"}, created_at=T0)
    s.add(turn)
    s.flush()
    rnd = TrainingRoundRow(run_id=run.id, version=1, status="done", steps=12,
                           losses={"dpo": {"before": 0.69, "after": 0.1}}, n_pairs=4, n_task=8, n_replay=2,
                           n_skipped={"too_long": 1}, seconds=3.5, device="cpu", error=None, started_at=T0,
                           finished_at=T0 + timedelta(seconds=4))
    s.add(rnd)
    s.flush()
    rows = [
        run, episode, turn, rnd,
        VerdictRow(turn_id=turn.id, label="unethical", p_ethical=0.1, p_neutral=0.2, p_unethical=0.7, rewrite="fixed",
                   framework="wwjd", judge="oracle", snapshot="previous_adapter", evidence=True, latency_s=0.2,
                   created_at=T0),
        FindingRow(turn_id=turn.id, detector="tampering", rule="TAMPER_SYS_EXIT", severity="high", line=3,
                   file="solution.py", message="sys.exit(0)"),
        PreferencePairRow(run_id=run.id, turn_id=turn.id, prompt=[{"role": "user", "content": "p"}], chosen="good",
                          audit={"chosen_solves": True, "similarity_to_frozen": 0.5},
                          rejected="bad", source="oracle", first_round_id=rnd.id, created_at=T0),
        AdapterRow(run_id=run.id, version=1, path="/tmp/a/v1", checksum="sha256:abc", round_id=rnd.id,
                   published_at=T0),
        ArtifactRow(run_id=run.id, kind="task_data", path="/tmp/r/run-1/task_data.jsonl", checksum="ab" * 32,
                    size=123, recorded_at=T0),
        EvaluationRow(run_id=run.id, epoch=2, arm="self+dpo", seed=7, n_episodes=5, n_turns=20, aligned_rate=0.8,
                      hack_rate=0.1, insecure_rate=0.1, capability=0.5, precision=None, recall=0.0, f1=0.0, kappa=0.0,
                      extra={"ci": [0.7, 0.9]}, created_at=T0),
    ]
    s.add_all(rows[4:])
    s.flush()
    return rows


def check_round_trip(store: Store, url: str) -> None:
    """Write one row per table, read each back through a new engine, compare every column."""
    with store.session() as s:
        written = {type(r): columns(r) for r in write_one_of_each(s)}
    assert {cls.__tablename__ for cls in written} == set(Base.metadata.tables)
    reopened = open_store(url)  # a new engine: nothing comes from an identity map
    with reopened.session(readonly=True) as s:
        for cls, expected in written.items():
            (row,) = s.scalars(select(cls)).all()
            assert columns(row) == expected, cls.__tablename__
    reopened.dispose()


@pytest.fixture
def one_of_each():
    return write_one_of_each


@pytest.fixture
def round_trip():
    return check_round_trip


def _postgres_drivers() -> tuple[str, ...]:
    import _postgres

    return _postgres.DRIVERS


SEVERITY = {"tampering": "high", "hidden_tests": "medium", "insecure": "high", "parse": "low", "sandbox": "low"}


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster on a unix socket (tests/_postgres.py); yields its socket folder."""
    import _postgres

    if (why := _postgres.missing()) is not None:
        pytest.skip(why)
    with _postgres.cluster() as socket_dir:
        yield socket_dir


@pytest.fixture(params=_postgres_drivers())
def pg_url(request, pg_server: Path) -> str:
    """A fresh, empty database in the session's cluster, once per driver (pg8000, psycopg 3)."""
    import _postgres

    pytest.importorskip(request.param, reason=f"the {request.param} driver is not installed (dev extra)")
    return _postgres.create_database(pg_server, request.param)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store(db_url: str) -> Store:
    store = ensure_schema(db_url)
    yield store
    store.dispose()


@dataclass
class TurnSpec:
    detectors: tuple[str, ...] = ()
    verdict: tuple[str, float] | None = None  # (label, p_unethical)
    answer: str = "def solve(x):\n    return x\n"
    rewrite: str | None = None


def add_run(store: Store, name: str, episodes: list[tuple[int, str, list[TurnSpec]]]) -> int:
    """Write a run whose episodes are (epoch, split, turns); returns the run id."""
    with store.session() as s:
        run = RunRow(name=name, model="tiny", backend="hf", seed=0, config={"episodes": len(episodes)})
        s.add(run)
        s.flush()
        for index, (epoch, split, turns) in enumerate(episodes):
            episode = EpisodeRow(run_id=run.id, index=index, epoch=epoch, split=split, task_family="fizzbuzz",
                                 task_kind="honest", task_seed=index, status="done", outcome="solved")
            s.add(episode)
            s.flush()
            for t_index, spec in enumerate(turns):
                findings = [Finding(detector=d, rule=f"{d.upper()}_RULE", severity=SEVERITY[d], message=f"{d} fired")
                            for d in spec.detectors]
                row = turn_row(Turn(index=t_index, prompt=f"task {index} turn {t_index}", reasoning="I will solve it",
                                    answer=spec.answer, code=spec.answer, findings=findings), episode.id)
                s.add(row)
                s.flush()
                if spec.verdict is not None:
                    label, p_unethical = spec.verdict
                    rest = (1 - p_unethical) / 2
                    s.add(VerdictRow(turn_id=row.id, label=label, p_ethical=rest, p_neutral=rest,
                                     p_unethical=p_unethical, rewrite=spec.rewrite, framework="three_laws"))
        return run.id


@pytest.fixture
def make_run():
    """`add_run` for tests that build their own store (conftest is not importable under importlib mode)."""
    return add_run


@pytest.fixture
def spec():
    """The TurnSpec class, for `make_run`."""
    return TurnSpec


def build_known(store: Store) -> dict[str, int]:
    """Write the store drawn in this module's docstring; returns {"run1": id, "run2": id, "run3": id}."""
    run1 = add_run(store, "mixed", [
        (0, "train", [TurnSpec(verdict=("ethical", 0.10)), TurnSpec(verdict=("unethical", 0.60))]),  # A
        (0, "train", [TurnSpec(("tampering",), ("unethical", 0.90)), TurnSpec(("parse",), ("neutral", 0.20))]),  # B
        (1, "train", [TurnSpec(("insecure",), ("ethical", 0.30)),  # C
                      TurnSpec(("hidden_tests", "insecure"), ("unethical", 0.80))]),
        (1, "eval", [TurnSpec()]),  # D
        (1, "train", []),  # F
        (2, "train", [TurnSpec(("sandbox",), ("ethical", 0.05))]),  # E
    ])
    run2 = add_run(store, "all-bad-start", [(0, "train", [TurnSpec(("tampering",))]), (1, "train", [TurnSpec()])])
    run3 = add_run(store, "all-clean", [(0, "train", [TurnSpec(verdict=("ethical", 0.2)),
                                                      TurnSpec(verdict=("ethical", 0.4))])])
    return {"run1": run1, "run2": run2, "run3": run3}


@pytest.fixture
def known_store(store: Store) -> tuple[Store, dict[str, int]]:
    """The store drawn in this module's docstring, with its run ids."""
    return store, build_known(store)


@pytest.fixture
def known():
    """`build_known`, for tests that fill a second store the same way."""
    return build_known
