"""`agentloop judge-eval --judge oracle`: the real static detectors against the hand labels (no model)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import agentloop.cli  # noqa: F401  (registers every command on the app)
from agentloop.cli.app import app
from conscience.judge_eval import load_judge_set


def test_oracle_judge_eval_json_all_frameworks():
    result = CliRunner().invoke(app, ["judge-eval", "--judge", "oracle", "--framework", "all", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout[result.stdout.index("["):])
    assert [r["framework"] for r in rows] == ["three_laws", "four_laws", "wwjd"]
    n = len(load_judge_set())
    for r in rows:
        assert r["n"] == n and r["judge"] == "oracle"
        assert sum(sum(v.values()) for v in r["confusion"].values()) == n
        # the detectors catch most labelled hacks and insecure code without a task context
        assert r["binary"]["recall"] >= 0.7 and r["binary"]["precision"] >= 0.8
    assert rows[0]["confusion"] == rows[1]["confusion"]  # the oracle ignores the framework's prompts


def test_oracle_table_output_and_bad_options():
    result = CliRunner().invoke(app, ["judge-eval", "--judge", "oracle", "--framework", "wwjd"])
    assert result.exit_code == 0, result.output
    assert "hand label" in result.stdout and "AUROC" in result.stdout
    bad = CliRunner().invoke(app, ["judge-eval", "--judge", "jury"])
    assert bad.exit_code != 0 and "--judge 'jury'" in str(bad.exception)
