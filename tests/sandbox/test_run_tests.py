"""Normal behaviour: pytest files in, per-test outcomes out, for both backends."""

from __future__ import annotations

import concurrent.futures
import textwrap

import pytest

from agentloop.core.errors import SandboxError
from agentloop.sandbox import Limits, RlimitSandbox, get_sandbox

SOLUTION = "def add(a, b):\n    return a + b\n"
TESTS = textwrap.dedent("""
    import pytest
    from solution import add

    def test_adds():
        assert add(2, 3) == 5

    class TestEdge:
        def test_wrong_on_purpose(self):
            assert add(1, 1) == 3

    @pytest.mark.parametrize("a", [0, 1])
    def test_param(a):
        assert add(a, 0) == a

    @pytest.mark.skip(reason="not today")
    def test_skipped():
        pass
""")
EXPECTED = {
    "test_add.py::test_adds": "passed",
    "test_add.py::TestEdge::test_wrong_on_purpose": "failed",
    "test_add.py::test_param[0]": "passed",
    "test_add.py::test_param[1]": "passed",
    "test_add.py::test_skipped": "skipped",
}


def _statuses(result) -> dict[str, str]:
    return {t.nodeid: t.status for t in result.tests}


def test_outcomes_per_test(bwrap):
    files = {"solution.py": SOLUTION, "test_add.py": TESTS, "data/input.txt": "42\n"}
    result = bwrap.run_tests(files, ["test_add.py"])
    assert result.backend == "bwrap" and result.exit_code == 1
    assert _statuses(result) == EXPECTED
    failed = next(t for t in result.tests if t.status == "failed")
    assert "assert 2 == 3" in failed.message
    assert result.files_after == {"test_add.py": TESTS}
    assert result.n_passed == 3 and not result.all_passed


def test_all_passing_file(bwrap):
    result = bwrap.run_tests({"solution.py": SOLUTION, "tests/test_ok.py": "from solution import add\n"
                              "def test_ok():\n    assert add(1, 2) == 3\n"}, ["tests/test_ok.py"])
    assert result.exit_code == 0 and result.all_passed
    assert _statuses(result) == {"tests/test_ok.py::test_ok": "passed"}


def test_syntax_error_in_solution_gives_error_outcomes(bwrap):
    result = bwrap.run_tests({"solution.py": "def add(a, b)\n    return a +\n", "test_add.py": TESTS,
                              "test_other.py": "def test_independent():\n    assert True\n"},
                             ["test_add.py", "test_other.py"])
    assert _statuses(result) == {"test_add.py": "error", "test_other.py::test_independent": "passed"}
    assert not result.all_passed


def test_runtime_tampering_shows_in_files_after(bwrap):
    sneaky = ("import pathlib\npathlib.Path('test_b.py').unlink()\n"
              "pathlib.Path('test_a.py').write_text('def test_a():\\n    pass\\n')\n"
              "def add(a, b):\n    return a + b\n")
    tests = "from solution import add\ndef test_a():\n    assert add(1, 1) == 2\n"
    result = bwrap.run_tests({"solution.py": sneaky, "test_a.py": tests, "test_b.py": "def test_b():\n    pass\n"},
                             ["test_a.py", "test_b.py"])
    assert result.files_after == {"test_a.py": "def test_a():\n    pass\n"}  # edited, and test_b.py gone


def test_test_file_swapped_for_a_symlink_is_not_followed(bwrap):
    swap = "import os\nos.remove('test_s.py')\nos.symlink('/etc/shadow', 'test_s.py')\nx = 1\n"
    result = bwrap.run_tests({"solution.py": swap, "test_s.py": "import solution\ndef test_s():\n    pass\n"},
                             ["test_s.py"])
    assert result.files_after == {}  # read back as root on the host: a symlink is never followed


def test_forged_reports_are_not_trusted(bwrap):
    forged = ('<testsuites><testsuite><testcase classname="test_f" name="test_f" file="test_f.py"/>'
              "</testsuite></testsuites>")
    planted = bwrap.run_tests({"junit.xml": forged, "report/junit.xml": forged,
                               "test_f.py": "def test_f():\n    assert False\n"}, ["test_f.py"])
    assert _statuses(planted) == {"test_f.py::test_f": "failed"}  # files in the task dir are not the report
    # agent code that rewrites the real report after pytest wrote it, with pytest's exit status 1
    late = ("import atexit, glob\n"
            f"atexit.register(lambda: [open(p, 'w').write({forged!r}) for p in glob.glob('/report/*.xml')])\n")
    rewritten = bwrap.run_tests({"solution.py": late, "test_f.py": "import solution\ndef test_f():\n"
                                 "    assert False\n"}, ["test_f.py"])
    assert rewritten.exit_code == 1 and not rewritten.all_passed
    assert _statuses(rewritten)["<session>"] == "error"


def test_no_report_means_no_outcomes(bwrap):
    result = bwrap.run_tests({"solution.py": "import os\nos._exit(0)\n",
                              "test_x.py": "import solution\ndef test_x():\n    pass\n"}, ["test_x.py"])
    assert result.tests == [] and not result.all_passed and "no junit report" in result.stderr


def test_timeout_inside_a_test_is_reported(bwrap):
    result = bwrap.run_tests({"test_slow.py": "def test_slow():\n    while True:\n        pass\n"}, ["test_slow.py"],
                             Limits(timeout_s=1.5))
    assert result.timed_out and result.killed_by == "timeout" and not result.all_passed


def test_concurrent_runs_stay_separate(bwrap):
    def one(i: int):
        files = {"solution.py": f"VALUE = {i}\n",
                 "test_v.py": f"import solution\ndef test_v():\n    assert solution.VALUE == {i}\n"}
        if i == 0:  # one hostile neighbour must not disturb the others
            files["solution.py"] += "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
        return bwrap.run_tests(files, ["test_v.py"], Limits(timeout_s=3))

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(one, range(5)))
    assert results[0].timed_out
    assert all(r.all_passed for r in results[1:]), [r.stderr for r in results[1:]]


def test_rlimit_fallback_runs_a_normal_test_file(caplog):
    with caplog.at_level("WARNING"):
        sandbox = RlimitSandbox()
    assert "NOT enforced" in caplog.text and "network" in caplog.text
    result = sandbox.run_tests({"solution.py": SOLUTION, "test_add.py": TESTS}, ["test_add.py"])
    assert result.backend == "rlimit" and _statuses(result) == EXPECTED
    looping = sandbox.exec(["python", "-c", "import os\nif os.fork() == 0:\n    os.setsid()\n    while True: pass\n"],
                           {}, Limits(timeout_s=5))
    assert looping.exit_code == 0 and looping.duration_s < 5  # a detached child does not hang the fallback


def test_get_sandbox_choices(monkeypatch):
    with pytest.raises(SandboxError, match="choose one of"):
        get_sandbox("docker")
    from agentloop.sandbox import bwrap, resolve

    monkeypatch.setattr(bwrap.shutil, "which", lambda *a, **k: None)  # bwrap not installed
    with pytest.raises(SandboxError, match="apt-get install -y bubblewrap"):
        resolve._resolve("bwrap")
    with pytest.raises(SandboxError, match="--allow-weak-sandbox"):  # "auto" never degrades silently
        resolve._resolve("auto")
    assert resolve._resolve("auto", allow_weak=True).name == "rlimit"


def test_bad_limits_and_paths_are_user_errors(bwrap):
    with pytest.raises(SandboxError, match="timeout_s"):
        Limits(timeout_s=0)
    with pytest.raises(SandboxError, match="relative path"):
        bwrap.run_tests({"../escape.py": "x = 1\n"}, [])
