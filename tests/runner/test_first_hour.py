"""What a new user sees first, without a model: the live progress line at any width, the run log
that takes other libraries' output, the never-training learner warning, `--version`, and a
working tree that stays clean after a run (the flagship under a real terminal: test_terminal.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _pty import run_in_pty
from agentloop.cli import app
from agentloop.display import Snapshot, progress_line
from agentloop.launch import learner_schedule_warning, planned_rounds
from agentloop.core.paths import repo_root
from agentloop.runner import StepStats
from agentloop.config.scenario import load_scenario

SCENARIOS = repo_root() / "scenarios"


def _stats() -> StepStats:
    st = StepStats(episodes_done=3, episodes_total=8, turns=31, hack_turns=0, insecure_turns=1, misaligned_turns=1,
                   completion_tokens=5000, generate_s=50.0, adapter=1)
    st.verdicts.update(ethical=20, neutral=10, unethical=1)
    return st


@pytest.mark.parametrize("width", [3, 8, 14, 25, 40, 60, 80, 120, 200])
def test_progress_line_never_exceeds_the_terminal(width):
    line = progress_line(Snapshot(done=3, total=8, stats=_stats(), elapsed_s=130, eta_s=200), width)
    assert len(line) <= width and "\n" not in line
    assert "3/8" in line  # the one thing every width shows


def test_progress_line_keeps_the_important_fields_first():
    snap = Snapshot(done=3, total=8, stats=_stats(), elapsed_s=130, eta_s=200)
    wide = progress_line(snap, 200)
    for part in ("episodes 3/8", "ETA 3:20", "hack 0% (0/31)", "insecure 3% (1/31)", "turns 31",
                 "verdicts e/n/u 20/10/1", "adapter v1", "100 tok/s", "elapsed 2:10"):
        assert part in wide, part
    narrow = progress_line(snap, 40)
    assert narrow.startswith("episodes 3/8") and "ETA 3:20" in narrow and "hack 0% (0/31)" in narrow
    assert "tok/s" not in narrow  # lower priority fields go first


def test_progress_line_and_summary_share_the_rate_definition():
    """The issue's mismatch: the line said "hack rate 3%" for one insecure turn of 31."""
    rates = _stats().rates()
    assert (rates.hack.k, rates.insecure.k, rates.aligned.k, rates.hack.n) == (0, 1, 30, 31)
    assert rates.insecure.text() == "0.032 [0.006, 0.162] (1/31)"


def test_learner_that_can_never_train_is_named():
    smoke = load_scenario(SCENARIOS / "smoke.yaml").with_overrides(learner="between_episodes")
    assert smoke.episodes == 2 and smoke.learner.every_episodes == 2
    warning = learner_schedule_warning(smoke)
    assert warning is not None and "never trains" in warning and "every_episodes to at most 1" in warning
    assert learner_schedule_warning(load_scenario(SCENARIOS / "codehack_multiturn.yaml")) is None
    assert learner_schedule_warning(load_scenario(SCENARIOS / "smoke.yaml")) is None  # learner off


@pytest.mark.parametrize(("episodes", "every", "wave", "rounds"), [
    (2, 2, 2, 0),  # the only due round would follow the last episode
    (8, 4, 4, 1),  # the flagship: one round after episode 4
    (8, 2, 2, 3),  # after 2, 4, 6 (never after 8)
    (10, 9, 4, 0),  # waves start at 4 and 8: 9 finished episodes never precede a wave
    (1, 1, 1, 0),
])
def test_planned_rounds(episodes, every, wave, rounds):
    assert planned_rounds(episodes, every, wave) == rounds


def test_version():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"agentloop {version('agentloop')}"


def test_run_artifacts_are_ignored_by_git():
    paths = ["agentloop_runs/run-1/agentloop.log", "agentloop.db", "agentloop.db-wal", "agentloop.db-shm",
             "reports/exp-1/report.md"]
    out = subprocess.run(["git", "check-ignore", *paths], cwd=repo_root(), capture_output=True, text=True)
    assert sorted(out.stdout.split()) == sorted(paths), out.stderr


_NOISY_CHILD = textwrap.dedent("""
    import logging, os, sys, warnings
    from pathlib import Path
    from agentloop.core.logs import console, log_child_output, run_output, set_verbose, setup_logging
    setup_logging()
    set_verbose(sys.argv[2] == "verbose")
    log = logging.getLogger("agentloop.demo")
    log.info("PROJECT-BEFORE")
    with run_output(Path(sys.argv[1])):
        log.info("PROJECT-DURING")
        console.print("CONSOLE-DURING")
        logging.getLogger("vllm.engine").info("VLLM-RECORD-NOISE")
        logging.getLogger("transformers").warning("HF-WARNING-NOISE")
        warnings.warn("PYWARN-NOISE", UserWarning)
        os.write(2, b"C-LEVEL-FD2-NOISE\\n")
        os.write(1, b"C-LEVEL-FD1-NOISE\\n")
        print("PRINT-NOISE", flush=True)
        sys.stderr.write("PROGRESS-BAR-NOISE\\r\\n")
        log_child_output("learner_round", "CHILD-STDERR-NOISE\\n")  # a learner round's stderr
    log.info("PROJECT-AFTER")
""")
_NOISE = ("VLLM-RECORD-NOISE", "HF-WARNING-NOISE", "PYWARN-NOISE", "C-LEVEL-FD2-NOISE", "C-LEVEL-FD1-NOISE",
          "PRINT-NOISE", "PROGRESS-BAR-NOISE", "CHILD-STDERR-NOISE")


@pytest.mark.parametrize("mode", ["quiet", "verbose"])
def test_run_output_sends_other_libraries_to_the_log_file(tmp_path: Path, mode: str):
    log_file = tmp_path / "run-1" / "agentloop.log"
    code, terminal = run_in_pty([sys.executable, "-c", _NOISY_CHILD, str(log_file), mode], cols=120, timeout=120)
    assert code == 0, terminal
    for line in ("PROJECT-BEFORE", "PROJECT-DURING", "CONSOLE-DURING", "PROJECT-AFTER"):
        assert line in terminal, (line, terminal)
    logged = log_file.read_text()
    for noise in _NOISE:
        assert noise in logged, (noise, logged)
        assert (noise in terminal) == (mode == "verbose"), (noise, terminal)
    assert "PROJECT-DURING" in logged and "PROJECT-AFTER" not in logged
