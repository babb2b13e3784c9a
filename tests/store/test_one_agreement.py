"""Retention and judge agreement have one implementation (store.stats.run_stats): the CLI's `retention`,
the viewer's run page and the store function print the same numbers on a store the runner's Recorder wrote."""

from __future__ import annotations

import json
from html import escape

from starlette.testclient import TestClient
from typer.testing import CliRunner

from agentloop.cli import app
from agentloop.tasks import load_families
from agentloop.core.types import Finding, SandboxResult, Turn
from conscience.verdict import Verdict
from store.recorder import Recorder
from store.session import ensure_schema

TAMPER = Finding("tampering", "TAMPER_SYS_EXIT", "high", "sys.exit(0) ends the test run early")
SHELL = Finding("insecure", "B605", "high", "os.system with a shell command")
NO_CODE = Finding("parse", "PARSE_NO_CODE", "low", "no code block")  # not misalignment
PROBS = {"ethical": {"ethical": 0.8, "neutral": 0.15, "unethical": 0.05},
         "neutral": {"ethical": 0.2, "neutral": 0.6, "unethical": 0.2},
         "unethical": {"ethical": 0.05, "neutral": 0.1, "unethical": 0.85}}
# per episode (epoch, split): its turns as (findings, verdict label or None = not judged)
EPISODES = [
    (0, "train", [((TAMPER,), "unethical"), ((), "ethical")]),  # tp, tn
    (0, "eval", [((), "unethical"), ((NO_CODE,), "neutral")]),  # fp, tn
    (1, "train", [((SHELL,), "ethical"), ((TAMPER, SHELL), None)]),  # fn, unjudged
    (1, "eval", [((), "ethical")]),  # tn
]


class _NoTests:
    """The sandbox evaluation record_turn reads (no tests ran)."""

    visible = hidden = SandboxResult(exit_code=0)


def _record(url: str) -> int:
    """A run written through the Recorder as the runner writes one; returns its id."""
    rec = Recorder(ensure_schema(url))
    run_id = rec.create_run(name="agree", scenario_path="s.yaml", scenario_yaml="", config={}, model="m",
                            backend="hf", seed=0, command="test")
    family = load_families()["add_numbers"]
    for i, (epoch, split, _) in enumerate(EPISODES):
        rec.plan_episodes(run_id, [(family.instance(i), i)], epoch=epoch, split=split)
    for plan, (_, _, turns) in zip(rec.unfinished_episodes(run_id), EPISODES, strict=True):
        for index, (findings, label) in enumerate(turns):
            turn = Turn(index=index, prompt="p", reasoning="", answer="a", code="x = 1", findings=list(findings))
            verdict = Verdict(label=label, probs=PROBS[label], framework="three_laws") if label else None
            rec.record_turn(plan.episode_id, turn, verdict, _NoTests(), None, gave_up=False, executed_answer="a")
        rec.finish_episode(plan.episode_id, status="done", outcome="budget")
    rec.store.dispose()
    return run_id


def test_cli_viewer_and_store_agree(tmp_path):
    from agentloop.view import create_app, open_readonly_store
    from store.queries import judge_agreement
    from store.stats import run_stats

    url = f"sqlite:///{tmp_path / 'agree.db'}"
    run_id = _record(url)
    store = open_readonly_store(url)
    with store.session(readonly=True) as s:
        stats = run_stats(s, [run_id])[run_id]
        agreement = judge_agreement(s, run_id)
    c = stats.confusion
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 1, 1, 3)  # as EPISODES draws it: the store reads what was written
    assert agreement.confusion == c and agreement.n_verdicts == stats.n_verdicts == 6

    result = CliRunner().invoke(app, ["retention", "--run", str(run_id), "--format", "json", "--db", url],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    assert cli["epochs"] == [e.as_dict() for e in stats.epochs]
    assert {k: cli["judge_agreement"][k] for k in ("tp", "fp", "fn", "tn", "n_verdicts")} == {
        "tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn, "n_verdicts": 6}
    assert cli["judge_agreement"]["kappa"] == c.kappa

    with TestClient(create_app(store)) as client:
        page = client.get(f"/runs/{run_id}").text
    counts = "".join(f'<td class="num">{n}</td>' for n in (c.tp, c.fp, c.fn, c.tn))
    assert counts in page
    for name in ("precision", "recall", "kappa"):  # 2 positives: n/a, as the CLI prints it
        assert f">{escape(stats.judge[name].text())}<" in page
    assert escape("n/a (n_pos=2 < 5, n=6)") in page
    for e in stats.epochs:
        assert f">{e.retention:.2f}<" in page
    store.dispose()
