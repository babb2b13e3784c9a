"""`agentloop report` on the hand-built experiment: PNG, markdown and JSON, checked against plain SQL on the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _evaluation_sql import sql_numbers
from agentloop.cli import app
from agentloop.core.errors import AgentloopError
from agentloop.report import build_report

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Render as a 250-column terminal, so the asserted cells are not wrapped."""
    from agentloop.cli import report

    monkeypatch.setattr(report.console, "width", 250)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_cli_writes_png_markdown_and_json(experiment, db_url, tmp_path):
    store, runs = experiment
    out = tmp_path / "rep"
    data = json.loads(invoke("report", "exp1", "--db", db_url, "--out", str(out), "--json"))

    assert (out / "retention_capability.png").read_bytes()[:8] == PNG_SIGNATURE
    markdown = (out / "report.md").read_text()
    assert "agentloop experiment scenarios/codehack_multiturn.yaml --epochs 2 --arms off,self --seeds 2" in markdown
    assert "](retention_capability.png)" in markdown and "arm: self" in markdown  # plot link, config snapshot
    assert json.loads((out / "report.json").read_text()) == data

    expected = sql_numbers(db_url)
    arm_of = {runs["A"]: ("self", 0), runs["B"]: ("self", 1), runs["C"]: ("off", 0)}
    rows = {(r["run_id"], r["epoch"]): r for r in data["rows"]}
    assert set(rows) == {key for key in expected if key[0] in arm_of and "aligned_rate" in expected[key]}
    for (run, epoch), numbers in expected.items():
        if run not in arm_of or "aligned_rate" not in numbers:
            continue
        row = rows[(run, epoch)]
        assert row["aligned_rate"] == pytest.approx(numbers["aligned_rate"])
        assert row["retention"] == pytest.approx(numbers["retention"])
        assert row["capability"] == pytest.approx(numbers.get("capability"))
        assert row["n_pairs"] == expected.get((run, epoch), {}).get("n_pairs", 0)
        # the per-seed markdown row prints the same numbers
        arm, seed = arm_of[run]
        line = next(ln for ln in markdown.splitlines() if ln.startswith(f"| {arm} | {seed} | {run} | {epoch} | "))
        cells = [f"{numbers['aligned_rate']:.3f} [", f"{numbers['retention']:.3f} ["]
        if numbers.get("capability") is not None:
            cells.append(f"{numbers['capability']:.3f}")
        for cell in cells:
            assert cell in line, (cell, line)
    # the arm means: self epoch 1 = mean of runs A and B
    self1 = next(r for r in data["arms"] if (r["arm"], r["epoch"]) == ("self", 1))
    mean = (expected[(runs["A"], 1)]["aligned_rate"] + expected[(runs["B"], 1)]["aligned_rate"]) / 2
    assert self1["aligned_rate"] == pytest.approx(mean)
    assert f"| self | 1 | 2 | 5 | {mean:.3f} [" in markdown
    total_pairs = sum(n.get("n_pairs", 0) for (run, _), n in expected.items() if run in (runs["A"], runs["B"]))
    assert f"self: {total_pairs} preference pairs" in markdown
    assert "## What this shows" in markdown and "better than chance" in markdown


def test_report_tables_and_zero_pairs_line(experiment, db_url, tmp_path):
    out = tmp_path / "empty"
    printed = invoke("report", "exp-empty", "--db", db_url, "--out", str(out))
    assert "alignment and capability" in printed and "retention" in printed
    line = "self: the frozen-copy judge flagged nothing, so DPO had no pairs"
    assert line in printed and line in (out / "report.md").read_text()
    assert (out / "retention_capability.png").read_bytes()[:8] == PNG_SIGNATURE


def test_report_of_one_run(experiment, db_url, tmp_path):
    _, runs = experiment
    report = build_report(db_url, str(runs["C"]))
    assert report.kind == "run" and report.arm_names == ["off"] and report.split == "eval"
    assert [r["epoch"] for r in report.rows] == [0, 1, 2]
    assert report.judges == {}  # the off arm has no verdicts
    summary = " ".join(report.summary())
    assert "off: after epoch 2 retention is 1.000" in summary


def test_report_of_a_training_only_run(store, db_url, run_builder):
    add_run, T, Ep = run_builder
    run = add_run(store, arm="self", seed=0, experiment="plain", episodes=[Ep(0, "train", "honest", [T(hidden=(1, 2))])])
    report = build_report(db_url, str(run))
    assert report.split == "train" and "no held-out eval episodes" in report.notes[0]
    assert report.rows[0]["capability"] == 0.5


def test_report_unknown_target(experiment, db_url):
    with pytest.raises(AgentloopError, match="no experiment or run 'nope'.*exp-empty, exp1"):
        build_report(db_url, "nope")
    with pytest.raises(AgentloopError, match="no store at"):
        build_report(f"sqlite:///{Path(db_url[10:]).parent / 'missing.db'}", "exp1")
