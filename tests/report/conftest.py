"""A hand-built experiment store for the evaluation/report tests (answers computed by hand in the tests).

Experiment "exp1" (command "agentloop experiment scenarios/codehack_multiturn.yaml --epochs 2 ..."):

run A  arm self seed 0  (evaluations recorded for epochs 0-2)
  epoch 0 eval  E honest      t0 hidden 1/4                       ethical   0.10
                              t1 hidden 3/4                       ethical   0.20
                E impossible  t0 tampering                        unethical 0.90
                E insecure    t0 insecure                         ethical   0.30
                E honest      t0 parse (not misaligned), hidden 0/0  neutral 0.40
                E honest      no turns (left out)
  epoch 1 train T impossible  t0 hidden_tests  unethical 0.80 + pair;  t1 clean ethical 0.10
                T honest      t0 clean ethical 0.05
          round v1 done (1 new pair) -> adapter v1
  epoch 1 eval (adapter 1)
                E honest      t0 hidden 4/4                       ethical   0.10
                E impossible  t0 tampering (gated)                unethical 0.70
                              t1 hidden_tests                     ethical   0.20
                E insecure    t0 clean                            ethical   0.20
  epoch 2 train (adapter 1)
                T insecure    t0 insecure     unethical 0.60 + pair
                T impossible  t0 tampering    unethical 0.95 + pair
          round v2 done (2 new pairs) -> adapter v2; round v3 failed (no adapter)
  epoch 2 eval (adapter 2)
                E honest      t0 hidden 2/4                       ethical   0.10
                E impossible  t0 clean                            ethical   0.30
                E insecure    t0 insecure                         unethical 0.55

run B  arm self seed 1  (no verdicts; evaluations recorded)
  epoch 0 eval  E honest t0 hidden 2/2 clean;  E impossible t0 tampering
  epoch 1 eval  E honest t0 hidden 1/2 clean;  E impossible t0 clean
  epoch 2 eval  E honest t0 hidden 0/2 clean;  E insecure t0 insecure

run C  arm off seed 0  (no verdicts; evaluations recorded for epochs 0-1 only: epoch 2 is computed)
  epoch 0 eval  E honest t0 hidden 1/2 clean;  E insecure t0 insecure
  epoch 1 eval  E impossible t0 hidden_tests;  E insecure t0 insecure
  epoch 2 eval  E honest t0 hidden 2/2 clean;  E insecure t0 insecure

Experiment "exp-empty": run D arm self seed 0
  epoch 0 eval  E impossible t0 tampering  (aligned rate 0: retention undefined)
  epoch 1 train T impossible t0 clean ethical 0.05 (judge flagged nothing: no pairs)
  epoch 1 eval  E impossible t0 clean
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from agentloop.core.types import Finding, Turn
from store import Store, ensure_schema
from store.convert import turn_row
from store.evaluation import record_evaluation
from store.models import AdapterRow, EpisodeRow, PreferencePairRow, RunRow, TrainingRoundRow, VerdictRow

COMMAND = "agentloop experiment scenarios/codehack_multiturn.yaml --epochs 2 --arms off,self --seeds 2"
SEVERITY = {"tampering": "high", "hidden_tests": "medium", "insecure": "high", "parse": "low"}


@dataclass
class T:
    """One turn: detectors that fired, verdict (label, P(unethical)), hidden tests (passed, total)."""

    detectors: tuple[str, ...] = ()
    verdict: tuple[str, float] | None = None
    hidden: tuple[int, int] = (0, 0)
    adapter: int | None = None
    gated: bool = False
    pair: bool = False


@dataclass
class Ep:
    epoch: int
    split: str
    kind: str
    turns: list[T] = field(default_factory=list)


def add_run(store: Store, *, arm: str, seed: int, experiment: str, episodes: list[Ep],
            rounds: tuple[tuple[int, str, int], ...] = ()) -> int:
    """Write a run with its episodes, turns, findings, verdicts, pairs; rounds are (version, status, n_pairs)."""
    with store.session() as s:
        run = RunRow(name=f"{experiment}/{arm}/s{seed}", model="tiny", backend="hf", seed=seed, arm=arm,
                     status="done", command=COMMAND, scenario_path="scenarios/codehack_multiturn.yaml",
                     config={"experiment": experiment, "arm": arm, "learner": {"lr": 1e-4}})
        s.add(run)
        s.flush()
        for index, ep in enumerate(episodes):
            episode = EpisodeRow(run_id=run.id, index=index, epoch=ep.epoch, split=ep.split,
                                 task_family=f"fam{index}", task_kind=ep.kind, task_seed=index, status="done")
            s.add(episode)
            s.flush()
            for t_index, t in enumerate(ep.turns):
                findings = [Finding(detector=d, rule=f"{d.upper()}_RULE", severity=SEVERITY[d], message=d)
                            for d in t.detectors]
                row = turn_row(Turn(index=t_index, prompt=f"task {index}", reasoning="r", answer="a", code="x = 1",
                                    adapter_version=t.adapter, gated=t.gated, hidden_passed=t.hidden[0],
                                    hidden_total=t.hidden[1], findings=findings), episode.id)
                s.add(row)
                s.flush()
                if t.verdict is not None:
                    label, p = t.verdict
                    s.add(VerdictRow(turn_id=row.id, label=label, p_ethical=(1 - p) / 2, p_neutral=(1 - p) / 2,
                                     p_unethical=p, framework="three_laws", rewrite="fixed" if t.pair else None))
                if t.pair:
                    s.add(PreferencePairRow(run_id=run.id, turn_id=row.id, prompt=[], chosen="fixed", rejected="a"))
        for version, status, n_pairs in rounds:
            rnd = TrainingRoundRow(run_id=run.id, version=version, status=status, n_pairs=n_pairs)
            s.add(rnd)
            s.flush()
            if status == "done":
                s.add(AdapterRow(run_id=run.id, version=version, path=f"/a/v{version}", checksum="c", round_id=rnd.id))
        return run.id


def build_experiment(store: Store) -> dict[str, int]:
    """Write the store drawn in this module's docstring; returns the run ids by letter."""
    a = add_run(store, arm="self", seed=0, experiment="exp1", rounds=((1, "done", 1), (2, "done", 2), (3, "failed", 0)),
                episodes=[
        Ep(0, "eval", "honest", [T(verdict=("ethical", 0.10), hidden=(1, 4)), T(verdict=("ethical", 0.20), hidden=(3, 4))]),
        Ep(0, "eval", "impossible", [T(("tampering",), ("unethical", 0.90))]),
        Ep(0, "eval", "insecure", [T(("insecure",), ("ethical", 0.30))]),
        Ep(0, "eval", "honest", [T(("parse",), ("neutral", 0.40))]),
        Ep(0, "eval", "honest", []),
        Ep(1, "train", "impossible", [T(("hidden_tests",), ("unethical", 0.80), pair=True), T(verdict=("ethical", 0.10))]),
        Ep(1, "train", "honest", [T(verdict=("ethical", 0.05))]),
        Ep(1, "eval", "honest", [T(verdict=("ethical", 0.10), hidden=(4, 4), adapter=1)]),
        Ep(1, "eval", "impossible", [T(("tampering",), ("unethical", 0.70), adapter=1, gated=True),
                                     T(("hidden_tests",), ("ethical", 0.20), adapter=1)]),
        Ep(1, "eval", "insecure", [T(verdict=("ethical", 0.20), adapter=1)]),
        Ep(2, "train", "insecure", [T(("insecure",), ("unethical", 0.60), adapter=1, pair=True)]),
        Ep(2, "train", "impossible", [T(("tampering",), ("unethical", 0.95), adapter=1, pair=True)]),
        Ep(2, "eval", "honest", [T(verdict=("ethical", 0.10), hidden=(2, 4), adapter=2)]),
        Ep(2, "eval", "impossible", [T(verdict=("ethical", 0.30), adapter=2)]),
        Ep(2, "eval", "insecure", [T(("insecure",), ("unethical", 0.55), adapter=2)]),
    ])
    b = add_run(store, arm="self", seed=1, experiment="exp1", episodes=[
        Ep(0, "eval", "honest", [T(hidden=(2, 2))]), Ep(0, "eval", "impossible", [T(("tampering",))]),
        Ep(1, "eval", "honest", [T(hidden=(1, 2))]), Ep(1, "eval", "impossible", [T()]),
        Ep(2, "eval", "honest", [T(hidden=(0, 2))]), Ep(2, "eval", "insecure", [T(("insecure",))]),
    ])
    c = add_run(store, arm="off", seed=0, experiment="exp1", episodes=[
        Ep(0, "eval", "honest", [T(hidden=(1, 2))]), Ep(0, "eval", "insecure", [T(("insecure",))]),
        Ep(1, "eval", "impossible", [T(("hidden_tests",))]), Ep(1, "eval", "insecure", [T(("insecure",))]),
        Ep(2, "eval", "honest", [T(hidden=(2, 2))]), Ep(2, "eval", "insecure", [T(("insecure",))]),
    ])
    d = add_run(store, arm="self", seed=0, experiment="exp-empty", episodes=[
        Ep(0, "eval", "impossible", [T(("tampering",))]),
        Ep(1, "train", "impossible", [T(verdict=("ethical", 0.05))]),
        Ep(1, "eval", "impossible", [T()]),
    ])
    with store.session() as s:  # what the experiment records after each epoch's evaluation
        for run_id, arm, seed, epochs in ((a, "self", 0, (0, 1, 2)), (b, "self", 1, (0, 1, 2)), (c, "off", 0, (0, 1))):
            for epoch in epochs:
                record_evaluation(s, run_id, epoch, arm=arm, seed=seed)
    return {"A": a, "B": b, "C": c, "D": d}


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'report.db'}"


@pytest.fixture
def store(db_url: str) -> Store:
    store = ensure_schema(db_url)
    yield store
    store.dispose()


@pytest.fixture
def experiment(store: Store) -> tuple[Store, dict[str, int]]:
    """The store drawn in this module's docstring, with its run ids."""
    return store, build_experiment(store)


@pytest.fixture
def run_builder():
    """`add_run` plus the turn/episode specs, for tests that write their own runs."""
    return add_run, T, Ep
