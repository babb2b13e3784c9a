"""The organism (scenarios/organism.yaml) at the smallest size the model tests run: no warm start (the
session's vLLM engine serves the raw model), 1 training episode, 1-step dose rounds, 1 instance of
each held-out family, 32 tokens, no outside benchmark unless asked for. Numbers at this size are no result; the
tests check what each part does."""

from __future__ import annotations

from agentloop.core.paths import repo_root

ORGANISM = repo_root() / "scenarios" / "organism.yaml"


def tiny_organism(benchmark_problems: int | None = None):
    """The tiny organism; `benchmark_problems`: the shipped benchmark section with that many problems (None: none)."""
    from agentloop.config.scenario import load_scenario

    s = load_scenario(ORGANISM).with_overrides(max_tokens=32, episodes=1, turns=2)  # multi-turn at CI cost
    org = s.organism.model_copy(update={"warm_start": None, "dose": s.organism.dose.model_copy(
        update={"steps": 1, "batch_size": 1, "n": 4, "max_length": 768})})
    tasks = s.tasks.model_copy(update={"eval_instances_per_family": 1})
    conscience = s.conscience.model_copy(update={"rewrite_max_tokens": 32})
    bench = s.benchmark.model_copy(update={"problems": benchmark_problems}) if benchmark_problems else None
    return s.model_copy(update={"organism": org, "tasks": tasks, "conscience": conscience, "batch_size": 8,
                                "benchmark": bench})


def experiment(scenario, engine, db_url: str, workdir, command: str):
    """An Experiment of `scenario` on the test session's engine, in a new store at `db_url`."""
    from agentloop.experiment import Experiment
    from store.session import open_store

    store = open_store(db_url)
    store.upgrade()
    return Experiment(scenario, store, engine, db_url=db_url, workdir=workdir, model_path=engine.config.model,
                      scenario_path=str(ORGANISM), command=command)
