"""Two reports compared contrast by contrast: the committed decisive-run report against itself and against
copies with one conclusion changed, one contrast dropped, or nothing readable."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentloop.cli import app
from agentloop.core.errors import ConfigError
from agentloop.report_agreement import agreement, final_contrasts, load_report

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "results" / "organism-controls-cpu"


@pytest.fixture(scope="module")
def report() -> dict:
    return load_report(COMMITTED)


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(data))
    return folder


def test_a_report_agrees_with_itself_on_every_last_epoch_contrast(report):
    rows = agreement(report, report)
    sources = {r.key[0] for r in rows}
    assert sources == {"held-out", "benchmark"}
    assert rows and all(r.same for r in rows)
    key = ("held-out", "self", "off", "hack_rate")
    contrast = final_contrasts(report)[key]
    assert contrast.epoch == 5 and contrast.n_seeds == 5 and contrast.direction == "lower"


def test_a_changed_conclusion_is_named_and_fails_the_command(report, tmp_path):
    changed = copy.deepcopy(report)
    row = next(d for d in changed["differences"]
               if d["final"] and (d["arm"], d["versus"], d["metric"]) == ("self", "always", "hack_rate"))
    assert not row["distinguishable"] and row["mean"] > 0
    row["distinguishable"], row["reads"] = True, "higher than always"
    rows = agreement(report, changed)
    differ = [r.key for r in rows if not r.same]
    assert differ == [("held-out", "self", "always", "hack_rate")]

    result = CliRunner().invoke(app, ["compare-reports", str(COMMITTED), str(_write(tmp_path, "b", changed))],
                                env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert f"{len(rows) - 1} of {len(rows)} contrasts read the same" in result.output
    line = next(x for x in result.output.splitlines() if "| self - always | hack_rate |" in x)
    assert "not distinguishable" in line and ": higher" in line and line.endswith("| **no** |")


def test_a_contrast_in_one_report_only_is_counted_apart_not_as_a_disagreement(report, tmp_path):
    fewer = copy.deepcopy(report)
    fewer["benchmark"]["differences"] = [d for d in fewer["benchmark"]["differences"] if d["metric"] != "cheating_rate"]
    rows = agreement(report, fewer)
    one_only = [r for r in rows if r.second is None]
    assert one_only and all(r.key[3] == "cheating_rate" and not r.same for r in one_only)
    result = CliRunner().invoke(app, ["compare-reports", str(COMMITTED), str(_write(tmp_path, "b", fewer))])
    assert result.exit_code == 0, result.output
    assert f"({len(one_only)} in one report only)" in result.output


def test_a_missing_or_unreadable_report_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no report.json at"):
        load_report(tmp_path / "nowhere")
    (tmp_path / "report.json").write_text('{"differences": [\n')
    with pytest.raises(ConfigError, match="is not JSON: .* line 2"):
        load_report(tmp_path)
