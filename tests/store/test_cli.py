"""`agentloop db upgrade`, `episodes list|show`, `retention` through typer's CliRunner on real files."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from agentloop.cli import app
from agentloop.core.errors import AgentloopError
from store import open_store

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Render as a 200-column terminal, so the asserted cells are not wrapped."""
    from agentloop.cli import episodes, retention

    for module in (episodes, retention):
        monkeypatch.setattr(module.console, "width", 200)


def invoke(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert "revision 0006" in invoke("db", "upgrade", "--db", url)
    assert "revision 0006" in invoke("db", "upgrade", "--db", url)  # twice is fine
    assert open_store(url).schema_diff() == []


def test_episodes_list_and_show(known_store, db_url):
    _, runs = known_store
    listing = invoke("episodes", "list", "--run", str(runs["run1"]), "--db", db_url)
    assert "fizzbuzz/s0" in listing and "fizzbuzz/s5" in listing and "fizzbuzz/s6" not in listing
    shown = invoke("episodes", "show", "2", "--db", db_url)  # episode B: tampering turn judged unethical
    for expected in ("episode 2", "turn 0", "turn 1", "TAMPERING_RULE", "unethical", "0.90", "PARSE_RULE"):
        assert expected in shown, expected
    with pytest.raises(AgentloopError, match="no episode 999"):
        runner.invoke(app, ["episodes", "show", "999", "--db", db_url], catch_exceptions=False)


def test_retention_formats(known_store, db_url):
    _, runs = known_store
    data = json.loads(invoke("retention", "--run", str(runs["run1"]), "--format", "json", "--db", db_url))
    assert [round(e["retention"], 4) for e in data["epochs"]] == [1.0, 0.4444, 1.3333]  # 4/9 and 4/3, see test_queries
    assert data["judge_agreement"]["tp"] == 2 and data["by"] == "turn"
    latest = json.loads(invoke("retention", "--format", "json", "--by", "episode", "--db", db_url))
    assert latest["run_id"] == runs["run3"] and latest["epochs"][0]["n"] == 1
    rows = list(csv.DictReader(io.StringIO(invoke("retention", "--run", str(runs["run2"]), "--format", "csv",
                                                 "--db", db_url))))
    assert [(r["epoch"], r["aligned_rate"], r["retention"]) for r in rows] == [("0", "0.0", ""), ("1", "1.0", "")]
    table = invoke("retention", "--run", str(runs["run1"]), "--db", db_url)
    assert "0.444" in table and "0.333 [0.061, 0.792] (1/3)" in table  # retention; a rate with its CI and k/n
    assert "kappa n/a (n_pos=3 < 5, n=7)" in table  # 3 misaligned turns: too few to score the judge


def test_retention_plot(known_store, db_url, tmp_path):
    _, runs = known_store
    out = tmp_path / "plots" / "retention.png"
    invoke("retention", "--run", str(runs["run1"]), "--format", "json", "--plot", str(out), "--db", db_url)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_read_commands_need_an_existing_current_store(tmp_path):
    with pytest.raises(AgentloopError, match="no store at"):
        runner.invoke(app, ["episodes", "list", "--db", f"sqlite:///{tmp_path / 'none.db'}"], catch_exceptions=False)
    open_store(f"sqlite:///{tmp_path / 'empty.db'}").engine.connect().close()  # a file without a schema
    with pytest.raises(AgentloopError, match="agentloop db upgrade"):
        runner.invoke(app, ["retention", "--db", f"sqlite:///{tmp_path / 'empty.db'}"], catch_exceptions=False)
    url = f"sqlite:///{tmp_path / 'norun.db'}"
    invoke("db", "upgrade", "--db", url)
    with pytest.raises(AgentloopError, match="no runs yet"):
        runner.invoke(app, ["retention", "--db", url], catch_exceptions=False)
