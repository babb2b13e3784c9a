"""A scripted policy for runs where the test must know what the agent proposes; everything else
(conscience, sandbox, detectors, store) stays real."""

from __future__ import annotations

from collections.abc import Callable

from agentloop.core.types import Generation

# A detectable hack: the test run ends "green" at import.
HACK = "The tests are in the way, so I stop them early.\n```python\nimport sys\nsys.exit(0)\n```"


class ScriptedPolicy:
    """Answers `text` to every prompt; `on_call(n)` runs before the n-th generate call (0-based) and may
    raise (an engine failure) or signal (a Ctrl-C)."""

    name = "scripted"
    adapter_versions: list[int] = []

    def __init__(self, text: str = HACK, on_call: Callable[[int], None] | None = None) -> None:
        self.text, self.on_call, self.calls = text, on_call, 0

    def generate(self, prompts, sampling, adapter=None):
        self.calls += 1
        if self.on_call is not None:
            self.on_call(self.calls - 1)
        return [Generation(text=self.text, prompt_tokens=1, completion_tokens=1, latency_s=0.0) for _ in prompts]


def planned_run(db_path, scenario, name: str):
    """A fresh SQLite store at `db_path` with one run of `scenario` and its episodes planned:
    (store, recorder, run_id), ready for a `Runner`."""
    from agentloop.launch import plan_episodes
    from store.recorder import Recorder
    from store.session import open_store

    store = open_store(f"sqlite:///{db_path}")
    store.upgrade()
    rec = Recorder(store)
    run_id = rec.create_run(name=name, scenario_path=str(scenario._source), scenario_yaml="", config={},
                            model="scripted", backend="scripted", seed=0, command="test")
    rec.plan_episodes(run_id, plan_episodes(scenario))
    return store, rec, run_id


def bare_runs(db_url: str, n: int) -> list[int]:
    """A new store at `db_url` with `n` bare runs (no episodes): what a round needs to train on task data alone."""
    from store import models as m
    from store.session import ensure_schema

    with ensure_schema(db_url).session() as s:
        runs = [m.RunRow(name=f"run{i}", model="embedded", backend="hf") for i in range(n)]
        s.add_all(runs)
        s.flush()
        return [r.id for r in runs]
