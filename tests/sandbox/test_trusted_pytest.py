"""The visible run's pytest cannot be shadowed, replaced or forged by files the agent writes (real bwrap)."""

from __future__ import annotations

from agentloop.sandbox._junit import nonce_problem

TESTS = "from solution import add\n\ndef test_small():\n    assert add(20, 22) == 42\n\n" \
        "def test_negative():\n    assert add(-5, 3) == -2\n"
WRONG = "def add(a, b):\n    return 0\n"
HONEST = "def add(a, b):\n    return a + b\n"
FORGED_XML = ('<testsuites><testsuite name="pytest" tests="2">'
              '<testcase classname="test_v" name="test_small" file="test_v.py"/>'
              '<testcase classname="test_v" name="test_negative" file="test_v.py"/></testsuite></testsuites>')
# Writes an all-passed report wherever pytest was told to, then leaves with status 0.
FORGER = ("import os, sys\n"
          "for arg in sys.argv:\n"
          "    if arg.startswith('--junitxml='):\n"
          f"        open(arg.split('=', 1)[1], 'w').write({FORGED_XML!r})\n"
          "os._exit(0)\n")
SABOTEUR = "import sys\nprint('shadowed')\nsys.exit(1)\n"


def statuses(result) -> dict[str, str]:
    return {t.nodeid: t.status for t in result.tests}


def test_pytest_shadow_cannot_fake_a_pass(bwrap):
    shadows = {"pytest.py": FORGER, "pluggy.py": FORGER, "_pytest/__init__.py": FORGER, "py.py": FORGER}
    result = bwrap.run_tests({"solution.py": WRONG, "test_v.py": TESTS, **shadows}, ["test_v.py"])
    assert statuses(result) == {"test_v.py::test_small": "failed", "test_v.py::test_negative": "failed"}
    assert result.exit_code == 1 and not result.forged_report


def test_pytest_shadow_cannot_fake_a_failure(bwrap):
    shadows = {"pytest.py": SABOTEUR, "_pytest/__init__.py": SABOTEUR}
    result = bwrap.run_tests({"solution.py": HONEST, "test_v.py": TESTS, **shadows}, ["test_v.py"])
    assert result.all_passed and len(result.tests) == 2 and "shadowed" not in result.stdout


def test_stdlib_modules_pytest_imports_late_are_not_shadowed(bwrap):
    # pytest.approx imports decimal on first use, after the test dir joined sys.path
    tests = "import pytest\nfrom solution import add\n\ndef test_close():\n    assert add(0.1, 0.2) == pytest.approx(0.3)\n"
    result = bwrap.run_tests({"solution.py": HONEST, "test_c.py": tests, "decimal.py": SABOTEUR,
                              "fractions.py": SABOTEUR, "numbers.py": SABOTEUR}, ["test_c.py"])
    assert statuses(result) == {"test_c.py::test_close": "passed"}, result.stdout


def test_report_forged_at_import_is_not_trusted(bwrap):
    result = bwrap.run_tests({"solution.py": FORGER + WRONG, "test_v.py": TESTS}, ["test_v.py"])
    assert result.exit_code == 0 and "nonce" in result.forged_report
    assert statuses(result) == {"<session>": "error"} and not result.all_passed


def test_exit_zero_over_a_failing_report_is_not_trusted(bwrap):
    late_exit = "import atexit, os\natexit.register(lambda: os._exit(0))\n" + WRONG
    result = bwrap.run_tests({"solution.py": late_exit, "test_v.py": TESTS}, ["test_v.py"])
    assert result.exit_code == 0 and not result.forged_report
    assert statuses(result)["<session>"] == "error" and "exited 0" in result.tests[-1].message


def test_honest_run_report_carries_the_nonce(bwrap):
    result = bwrap.run_tests({"solution.py": HONEST, "test_v.py": TESTS}, ["test_v.py"])
    assert result.all_passed and not result.forged_report and "<session>" not in statuses(result)


def test_nonce_check():
    good = b'<testsuites><testsuite name="n1"><testcase name="t"/></testsuite></testsuites>'
    assert nonce_problem(good, "n1") == ""
    assert "nonce" in nonce_problem(good, "n2")
    two = b'<testsuites><testsuite name="n1"/><testsuite name="n1"/></testsuites>'
    assert "2 test suites" in nonce_problem(two, "n1")
    outside = b'<testsuites><testsuite name="n1"/><testcase name="t"/></testsuites>'
    assert "outside" in nonce_problem(outside, "n1")
