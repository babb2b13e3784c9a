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
from pathlib import Path

import pytest

from agentloop.types import Finding, Turn
from store import Store, ensure_schema
from store.convert import turn_row
from store.models import EpisodeRow, RunRow, VerdictRow

SEVERITY = {"tampering": "high", "hidden_tests": "medium", "insecure": "high", "parse": "low", "sandbox": "low"}


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


@pytest.fixture
def known_store(store: Store) -> tuple[Store, dict[str, int]]:
    """The store drawn in this module's docstring; returns it with {"run1": id, "run2": id, "run3": id}."""
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
    return store, {"run1": run1, "run2": run2, "run3": run3}
