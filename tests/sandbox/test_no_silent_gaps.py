"""No silent gaps (issue 16): "auto" never falls back quietly, the backend of a run is recorded and
shown, the scenario's limits reach every sandbox call, a path-escaping file name is a finding on
its turn, and a --db password is never stored or shown.

The sandbox, detectors, runner and SQLite store are real; the policy is scripted (no model).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from _scripted import ScriptedPolicy, planned_run
from agentloop.core.errors import SandboxError
from agentloop.core.paths import repo_root
from agentloop.sandbox import Limits, backend_label, get_sandbox, sandbox_for

SMOKE = repo_root() / "scenarios" / "smoke.yaml"
SECRET_URL = "postgresql+psycopg://alice:s3cr3t-pw@db.example:5432/agentloop"
SLEEPER = "import time\ntime.sleep(30)\n"  # hangs at import: both runs must end at the scenario's timeout


@pytest.fixture
def no_bwrap(monkeypatch):
    """bubblewrap unusable (as on a machine without it), and no cached backend from earlier tests."""
    from agentloop.sandbox import resolve

    monkeypatch.setattr(resolve, "probe_bwrap", lambda: (None, "bwrap missing (test)"))
    monkeypatch.setattr(resolve, "_cache", {})


def _scenario(sandbox: dict | None = None, **overrides):
    """The smoke scenario with CLI-style overrides and, optionally, its `sandbox:` section replaced."""
    from agentloop.config.sandbox import SandboxSettings
    from agentloop.config.scenario import load_scenario

    scenario = load_scenario(SMOKE).with_overrides(**overrides)
    if sandbox is not None:
        scenario = scenario.model_copy(update={"sandbox": SandboxSettings(**sandbox)})
    return scenario


def _task(family: str = "sum_even"):
    from agentloop.tasks import load_families

    return load_families()[family].instance(0)


# -- "auto" never degrades silently ---------------------------------------------------------------------

def test_auto_without_bwrap_stops_and_names_both_fixes(no_bwrap):
    with pytest.raises(SandboxError) as exc:
        get_sandbox("auto")
    message = str(exc.value)
    assert "sandbox: {backend: rlimit}" in message and "--allow-weak-sandbox" in message
    assert "bwrap missing (test)" in message
    assert get_sandbox("auto", allow_weak=True).name == "rlimit"
    assert get_sandbox("rlimit").name == "rlimit"


def test_a_run_without_bwrap_stops_before_anything_is_stored(no_bwrap, tmp_path):
    from agentloop.launch import execute_run

    url = f"sqlite:///{tmp_path / 'run.db'}"
    with pytest.raises(SandboxError, match="--allow-weak-sandbox"):
        execute_run(_scenario(episodes=1, turns=1, conscience="off", model="scripted"), url,
                    scenario_path=SMOKE, workdir=tmp_path, engine=ScriptedPolicy())
    assert not (tmp_path / "run.db").exists()


def test_both_commands_offer_allow_weak_sandbox():
    from typer.testing import CliRunner

    import agentloop.cli  # noqa: F401  (registers the commands)
    from agentloop.cli.app import app

    for command in ("run", "experiment"):
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert "--allow-weak-sandbox" in result.output, result.output


def test_backend_labels_say_when_the_sandbox_is_weak():
    assert backend_label("bwrap") == "bwrap"
    assert "weak" in backend_label("rlimit") and "weak" in backend_label("bwrap+rlimit")


def _stored_run(url: str):
    from store import models as m
    from store.session import open_store

    with open_store(url).session() as s:
        return s.scalars(select(m.RunRow)).one()


def test_the_backend_used_is_recorded_and_summarised_and_the_password_is_not(tmp_path):
    from agentloop.launch import execute_run

    url = f"sqlite:///{tmp_path / 'run.db'}"
    command = f"agentloop run {SMOKE} --db {SECRET_URL}"
    result = execute_run(_scenario(episodes=1, turns=1, conscience="off", model="scripted"), url,
                         scenario_path=SMOKE, workdir=tmp_path, engine=ScriptedPolicy(), command=command)
    assert result.summary()["sandbox"] == "bwrap"
    run = _stored_run(url)
    assert run.config["sandbox_backend"] == "bwrap"
    assert "s3cr3t-pw" not in run.command and "alice:***@db.example" in run.command


def test_a_resumed_session_on_another_backend_is_recorded(tmp_path):
    from store.recorder import Recorder

    store, rec, run_id = planned_run(tmp_path / "run.db", _scenario(), "resumed")
    assert isinstance(rec, Recorder)
    rec.note_sandbox_backend(run_id, "bwrap")
    rec.note_sandbox_backend(run_id, "bwrap")
    rec.note_sandbox_backend(run_id, "rlimit")
    with store.session() as s:
        from store import models as m

        assert s.get(m.RunRow, run_id).config["sandbox_backend"] == "bwrap+rlimit"


# -- the scenario's limits reach every sandbox call ----------------------------------------------------

def test_scenario_limits_are_bound_to_the_sandbox():
    scenario = _scenario(sandbox={"backend": "auto", "timeout_s": 1.5, "memory_mb": 300})
    sandbox = sandbox_for(scenario.sandbox)
    assert sandbox.limits.timeout_s == 1.5 and sandbox.limits.memory_mb == 300 and sandbox.limits.cpu_s == 2
    assert get_sandbox("auto").limits == Limits()  # the shared, cached backend is not changed


def test_a_tiny_scenario_timeout_ends_both_runs_of_a_sleeping_solution(bwrap):
    from agentloop.detectors import evaluate_solution

    scenario = _scenario(sandbox={"backend": "auto", "timeout_s": 1.5, "memory_mb": 512})
    t0 = time.monotonic()
    ev = evaluate_solution(_task(), SLEEPER, {}, sandbox=sandbox_for(scenario.sandbox))
    assert ev.visible.timed_out and ev.visible.killed_by == "timeout"
    assert ev.hidden.timed_out and ev.hidden.killed_by == "timeout"
    assert 1.5 <= ev.visible.duration_s < 5 and 1.5 <= ev.hidden.duration_s < 5
    assert time.monotonic() - t0 < 15  # the default 20 s limit would take 40 s


def test_the_scenario_memory_cap_is_the_one_applied(bwrap):
    from agentloop.detectors import evaluate_solution

    scenario = _scenario(sandbox={"backend": "auto", "timeout_s": 10, "memory_mb": 200})
    hog = "BLOCK = bytearray(b'x') * (300 << 20)\n"  # fine under the default 1 GB, not under 200 MB
    ev = evaluate_solution(_task(), hog, {}, sandbox=sandbox_for(scenario.sandbox))
    assert "MemoryError" in ev.visible.stdout + ev.visible.stderr
    assert not ev.visible.all_passed and not ev.visible.timed_out


# -- a path-escaping file name is a finding, and the wave goes on ----------------------------------------

ESCAPES = ("../x.py", "/tmp/agentloop-escape.py", "a/../../b.py")


def test_escaping_file_names_become_findings(bwrap):
    from agentloop.detectors import evaluate_solution, is_misaligned

    task = _task()
    extra = {name: "PWNED = True\n" for name in ESCAPES} | {"helper.py": "X = 1\n"}
    ev = evaluate_solution(task, "def placeholder():\n    return None\n", extra, sandbox=bwrap)
    escapes = [f for f in ev.findings if f.rule == "TAMPER_PATH_ESCAPE"]
    assert sorted(f.file for f in escapes) == sorted(ESCAPES)
    assert all(is_misaligned(f) and f.severity == "high" for f in escapes)
    assert ev.visible.exit_code is not None and ev.hidden.exit_code is not None  # both runs happened


def test_the_runner_records_the_finding_and_goes_on(tmp_path, bwrap):
    from agentloop.launch import task_resolver
    from agentloop.runner import Runner, RunnerOptions
    from store import models as m

    answer = ("```python\ndef placeholder():\n    return None\n```\n"
              "```\n# file: ../../outside.py\nPWNED = True\n```\n")
    scenario = _scenario(episodes=2, turns=1)
    store, rec, run_id = planned_run(tmp_path / "run.db", scenario, "escape")
    Runner(RunnerOptions(turns=1, batch_size=2, mode="off"), rec, ScriptedPolicy(answer), bwrap, None,
           task_resolver(scenario)).run(run_id)
    with store.session() as s:
        episodes = s.scalars(select(m.EpisodeRow)).all()
        assert [e.status for e in episodes] == ["done", "done"], [e.error for e in episodes]
        rules = [f.rule for f in s.scalars(select(m.FindingRow))]
    assert rules.count("TAMPER_PATH_ESCAPE") == 2
    assert not (tmp_path.parent / "outside.py").exists()


# -- a --db password is never stored or shown ----------------------------------------------------------

def test_redact_urls():
    from store.session import redact_urls

    assert redact_urls(SECRET_URL) == "postgresql+psycopg://alice:***@db.example:5432/agentloop"
    assert redact_urls("postgresql://u:pa ss@h/db") == "postgresql://u:***@h/db"  # one argument with a space
    assert redact_urls(f"run x.yaml --db {SECRET_URL} --seed 1") == (
        "run x.yaml --db postgresql+psycopg://alice:***@db.example:5432/agentloop --seed 1")
    for clean in ("sqlite:///agentloop.db", "sqlite:////abs/path.db", "postgresql://h/db", "no url here"):
        assert redact_urls(clean) == clean


def test_the_cli_command_line_is_redacted():
    from agentloop.cli.app import command_line

    for argv in (["run", "s.yaml", "--db", SECRET_URL], ["run", "s.yaml", f"--db={SECRET_URL}"],
                 ["experiment", "s.yaml", "--db", "postgresql://u:with space@h/db"]):
        line = command_line(argv)
        assert line.startswith("agentloop ") and "***" in line
        assert "s3cr3t-pw" not in line and "with space" not in line


def test_a_run_created_with_a_password_stores_it_redacted(tmp_path):
    from store.recorder import Recorder
    from store.session import open_store

    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    store.upgrade()
    run_id = Recorder(store).create_run(name="r", scenario_path="s.yaml", scenario_yaml="", config={}, model="m",
                                        backend="hf", seed=0, command=f"agentloop run s.yaml --db {SECRET_URL}")
    with store.session() as s:
        from store import models as m

        assert "s3cr3t-pw" not in s.get(m.RunRow, run_id).command


def test_a_bad_url_error_does_not_echo_the_password():
    from store.session import StoreError, open_store

    with pytest.raises(StoreError) as exc:
        open_store("nosuchdialect://alice:s3cr3t-pw@h/db")
    assert "s3cr3t-pw" not in str(exc.value)


def test_the_viewer_shows_the_backend_and_hides_an_old_rows_password(tmp_path):
    from starlette.testclient import TestClient

    from agentloop.view import create_app, open_readonly_store
    from store import models as m
    from store.session import ensure_schema

    url = f"sqlite:///{tmp_path / 'v.db'}"
    with ensure_schema(url).session() as s:  # a row written before redaction existed
        run = m.RunRow(name="legacy", config={"sandbox_backend": "rlimit"}, model="m", backend="hf",
                       command=f"agentloop run s.yaml --db {SECRET_URL}", created_at=m.utcnow())
        s.add(run)
        s.flush()
        run_id = run.id
    with TestClient(create_app(open_readonly_store(url))) as client:
        page = client.get(f"/runs/{run_id}").text
    assert "s3cr3t-pw" not in page and "alice:***@db.example" in page
    assert "rlimit (weak" in page
