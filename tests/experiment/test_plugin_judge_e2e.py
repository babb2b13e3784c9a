"""A judge that a plugin package adds with one class (tests/plugins/agentloop_demo_detector's StubJudge,
installed through its `agentloop.judges` entry point) is an arm of `agentloop experiment`, labels that
arm's training turns, and shows in report.json and the viewer's experiment pages with no edit to
agentloop (issue 25).

scenarios/smoke.yaml at its smallest (1 episode of 1 turn, 32 tokens, a 1-step round), arms off and
demo_stub_judge, 1 seed, 1 epoch, through the real CLI in a child process (the plugin on its
PYTHONPATH) with the real vLLM engine, learner round and store.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from _plugin import demo_plugin_on_path
from _tiny_scenario import tiny_copy

pytestmark = [pytest.mark.model, pytest.mark.slow]
JUDGE = "demo_stub_judge"
ARMS = ["off", JUDGE]


def test_a_plugin_judge_is_an_arm_in_the_experiment_report_and_viewer(embedded_model_path, tmp_path, monkeypatch):
    scenario = tiny_copy("smoke.yaml", tmp_path, "plugin_tiny", steps=1, max_length=256, task_data={"n": 4})
    with demo_plugin_on_path(tmp_path / "site", monkeypatch) as plugin:  # installed for the CLI and the viewer
        path = [str(p) for p in plugin] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        done = subprocess.run(
            [sys.executable, "-m", "agentloop.cli", "experiment", scenario.name, "--epochs", "1",
             "--arms", ",".join(ARMS), "--seeds", "1", "--db", "sqlite:///a.db", "--workdir", "runs"],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(path)}, capture_output=True, text=True,
            timeout=900)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        listing, page, meaning = _viewer_pages(tmp_path / "a.db")

    (report_json,) = (tmp_path / "reports").glob("*/report.json")  # what the command wrote at its end
    experiment_id = report_json.parent.name
    report = json.loads(report_json.read_text())
    assert {(row["arm"], row["epoch"]) for row in report["arms"]} == {(arm, epoch) for arm in ARMS for epoch in (0, 1)}
    assert {run["arm"] for run in report["runs"]} == set(ARMS)

    with sqlite3.connect(tmp_path / "a.db") as con:
        judges = con.execute("""SELECT DISTINCT r.arm, v.judge FROM verdicts v JOIN turns t ON t.id = v.turn_id
                                JOIN episodes e ON e.id = t.episode_id JOIN runs r ON r.id = e.run_id
                                WHERE e.split = 'train'""").fetchall()
    assert judges == [(JUDGE, JUDGE)]  # the plugin labelled its arm's training turns; off judges nothing

    assert f'<a href="/experiments/{experiment_id}">{experiment_id}</a>' in listing
    assert f"<td>{', '.join(ARMS)}</td>" in listing or f"<td>{', '.join(reversed(ARMS))}</td>" in listing
    assert meaning != "custom arm" and f"<dt>{JUDGE}</dt><dd>{meaning}</dd>" in page  # the plugin's own sentence
    alignment = page[page.index('<table class="alignment">'):]
    alignment = alignment[:alignment.index("</table>")]
    assert len(re.findall(rf"<tr><td>{JUDGE}</td>", alignment)) == 2  # epochs 0 and 1, as in report.json


def _viewer_pages(db) -> tuple[str, str, str]:
    """`agentloop view`'s experiments listing and the experiment's page, and the plugin arm's meaning."""
    from starlette.testclient import TestClient

    from agentloop.report_format import arm_meaning
    from agentloop.view import create_app, open_readonly_store

    store = open_readonly_store(f"sqlite:///{db}")
    try:
        with TestClient(create_app(store)) as client:
            listing = client.get("/experiments").text
            (experiment_id,) = re.findall(r'<a href="/experiments/([^"]+)">', listing)
            return listing, client.get(f"/experiments/{experiment_id}").text, arm_meaning(JUDGE)
    finally:
        store.dispose()
