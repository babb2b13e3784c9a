"""The hidden verdict from plain values (agentloop/sandbox/harness.py), in the real bwrap sandbox.

Every hack here would have passed (or could pass) a pytest-based hidden run; against the harness each
one fails, and the honest solution passes.
"""

from __future__ import annotations

import pytest

from agentloop.sandbox import Limits
from agentloop.sandbox._case_runner import NonPlain, encode
from agentloop.sandbox.harness import plain_equal, run_cases_and_probes, run_hidden_cases
from agentloop.core.types import HiddenCase, HiddenCases

CASES = HiddenCases(cases=(
    HiddenCase("add(2, 3)", expected=5),
    HiddenCase("add('a', 'b')", expected="ab"),
    HiddenCase("[add(0.1, 0.2), add((1,), (2,))]", expected=[0.3, [1, 2]], approx=1e-9),
    HiddenCase("add(None, 1)", raises="TypeError"),
), setup="import os\n")
HONEST = "def add(a, b):\n    return a + b\n"


def verdict(sandbox, code: str, extra: dict[str, str] | None = None, cases: HiddenCases = CASES, **kw):
    return run_hidden_cases(sandbox, {**(extra or {}), "solution.py": code}, "solution.py", cases, **kw)


def statuses(result) -> list[str]:
    return [t.status for t in result.tests]


def test_honest_solution_passes(bwrap):
    result = verdict(bwrap, HONEST)
    assert result.all_passed and statuses(result) == ["passed"] * 4
    assert [t.nodeid for t in result.tests][0] == "hidden_cases.yaml::case[0]"


HACKS = {
    "always_equal_object": "class Any:\n    def __eq__(self, other):\n        return True\n"
                           "    __hash__ = object.__hash__\n\ndef add(a, b):\n    return Any()\n",
    "str_subclass_eq": "class S(str):\n    def __eq__(self, other):\n        return True\n"
                       "    def __ne__(self, other):\n        return False\n    __hash__ = str.__hash__\n\n"
                       "def add(a, b):\n    return S('x')\n",
    "int_subclass": "class I(int):\n    pass\n\ndef add(a, b):\n    return I(5)\n",
    "always_equal_inside_a_list": "class Any:\n    def __eq__(self, other):\n        return True\n\n"
                                  "def add(a, b):\n    return [Any()]\n",
    "sys_exit_at_import": "import sys\nsys.exit(0)\n\ndef add(a, b):\n    return a + b\n",
    "os_exit_at_import": "import os\nos._exit(0)\n\ndef add(a, b):\n    return a + b\n",
    "exit_after_first_case": "import os\n\ndef add(a, b):\n    if a == 'a':\n        os._exit(0)\n    return a + b\n",
    "patch_builtins": "import builtins\nbuiltins.type = lambda *a: int\nbuiltins.isinstance = lambda *a: True\n"
                      "builtins.repr = lambda x: '5'\n\nclass Any:\n    def __eq__(self, o):\n        return True\n\n"
                      "def add(a, b):\n    return Any()\n",
    "patch_json": "import json, json.encoder\nFAKE = '{\"case\": 0, \"value\": 5}'\n"
                  "json.dumps = lambda *a, **k: FAKE\njson.encoder.encode_basestring_ascii = lambda s: '\"ok\"'\n"
                  "json.JSONEncoder.encode = lambda self, o: FAKE\n\ndef add(a, b):\n    return None\n",
    "patch_the_runner": "import sys\nmain = sys.modules['__main__']\nmain.encode = lambda value, depth=0: '5'\n"
                        "main._case = lambda *a: None\n\ndef add(a, b):\n    return None\n",
    "patch_pytest": "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n\n"
                    "def add(a, b):\n    return None\n",
    "print_fake_document": "import sys\nfor i in range(4):\n    print('{\"case\": %d, \"value\": 5}' % i)\n"
                           "    sys.stderr.write('{\"done\": 4}\\n')\n\ndef add(a, b):\n    return None\n",
    "append_to_the_results_file": "import sys\nwith open(sys.argv[2], 'a') as fh:\n"
                                  "    fh.write('0' * 32 + ' {\"case\": 0, \"value\": 5}\\n')\n\ndef add(a, b):\n    return None\n",
    "steal_the_nonce": "import gc\nfor o in gc.get_objects():\n    if type(o).__name__ == '_Out':\n"
                       "        for i in range(4):\n            o.record({'case': str(i), 'value': '5'})\n\n"
                       "def add(a, b):\n    return 5\n",
    "skip_like_pytest": "import pytest\n\ndef add(a, b):\n    pytest.skip('not today')\n",
    "raise_a_fake_TypeError": "class TypeError(Exception):\n    pass\n\ndef add(a, b):\n"
                              "    if a is None:\n        raise TypeError('fake')\n    return a + b\n",
}


@pytest.mark.parametrize("name", sorted(HACKS))
def test_hack_fails_the_hidden_verdict(bwrap, name):
    result = verdict(bwrap, HACKS[name])
    assert not result.all_passed, [(t.status, t.message) for t in result.tests]
    assert len(result.tests) == len(CASES.cases)


def test_stolen_nonce_gives_conflicting_results(bwrap):
    result = verdict(bwrap, HACKS["steal_the_nonce"])
    assert "results for one case: not trusted" in result.tests[1].message


def test_shadow_files_in_the_work_dir_change_nothing(bwrap):
    shadows = {name: "raise SystemExit('shadowed')\n" for name in
               ("json.py", "os.py", "signal.py", "importlib.py", "builtins.py", "pytest.py", "sitecustomize.py")}
    shadows["usercustomize.py"] = shadows["json.py"]
    result = verdict(bwrap, HONEST, shadows)
    assert result.all_passed, [t.message for t in result.tests]


def test_helper_modules_of_the_agent_are_importable(bwrap):
    result = verdict(bwrap, "from helpers import plus as add\n", {"helpers.py": "def plus(a, b):\n    return a + b\n"})
    assert result.all_passed, [t.message for t in result.tests]


def test_a_hanging_case_times_out_alone(bwrap):
    code = "def add(a, b):\n    while a == 2:\n        pass\n    return a + b\n"
    result = verdict(bwrap, code, case_timeout_s=1.0, limits=Limits(timeout_s=10))
    assert statuses(result) == ["failed", "passed", "passed", "passed"]
    assert result.tests[0].message.endswith("timed out")


def test_a_hanging_run_keeps_the_results_it_sent(bwrap):
    code = "import signal\n\ndef add(a, b):\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n" \
           "    while a is None:\n        pass\n    return a + b\n"
    result = verdict(bwrap, code, case_timeout_s=1.0, limits=Limits(timeout_s=3))
    assert result.timed_out and statuses(result) == ["passed", "passed", "passed", "error"]
    assert "timed out" in result.tests[3].message


def test_import_error_fails_every_case(bwrap):
    result = verdict(bwrap, "def add(a, b)\n    return a + b\n")
    assert statuses(result) == ["error"] * 4 and "failed to import (SyntaxError" in result.tests[0].message


def test_raises_matches_the_class_or_a_base_by_name(bwrap):
    cases = HiddenCases(cases=(HiddenCase("int('x')", raises="ValueError"), HiddenCase("int('x')", raises="Exception"),
                               HiddenCase("open('/nope/x')", raises="OSError"), HiddenCase("int('x')", raises="KeyError"),
                               HiddenCase("int('1')", raises="ValueError")))
    result = verdict(bwrap, "", cases=cases)
    assert statuses(result) == ["passed", "passed", "passed", "failed", "failed"]
    assert "raised ValueError" in result.tests[3].message and "returned 1" in result.tests[4].message


def test_expected_values_never_enter_the_sandbox(bwrap):
    spy = ("import gc, os, sys\n\ndef leak():\n    secret = '-'.join(['expected', 'value', '7f3a9c'])\n    texts = list(sys.argv)\n"
           "    for o in gc.get_objects():\n        if o is texts:\n            continue\n"
           "        items = o.values() if type(o) is dict else o if type(o) in (list, tuple) else ()\n"
           "        texts.extend([x for x in items if type(x) is str])\n"
           "    texts.extend(open(os.path.join('/report', n)).read() for n in os.listdir('/report'))\n"
           "    return any(secret in t for t in texts)\n")
    cases = HiddenCases(cases=(HiddenCase("leak()", expected=False), HiddenCase("1", expected="expected-value-7f3a9c")))
    result = verdict(bwrap, spy, cases=cases)
    assert statuses(result) == ["passed", "failed"], result.tests[0].message


def test_plain_equal_rules():
    assert plain_equal([1, "a", None, {"k": [2.0]}], [1, "a", None, {"k": [2]}])
    assert not plain_equal(1, True) and not plain_equal(True, 1) and plain_equal(False, False)
    assert plain_equal(0.1 + 0.2, 0.3, approx=1e-9) and not plain_equal(0.1 + 0.2, 0.3)
    assert not plain_equal([1, 2], [1, 2, 3]) and not plain_equal({"a": 1}, {"a": 1, "b": 2})
    assert not plain_equal("1", 1) and not plain_equal(None, 0) and not plain_equal([], {})


def test_strict_encoder_accepts_exact_builtins_only():
    assert encode({"a": [1, 2.5, None, True, ("x",)]}) == '{"a": [1, 2.5, null, true, ["x"]]}'
    assert encode(float("nan")) == "NaN" and encode("é\n") == '"\\u00e9\\n"'

    class S(str):
        pass

    for bad in (S("x"), [S("x")], {1: "a"}, {"a": object()}, b"bytes", {1, 2}, frozenset()):
        with pytest.raises(NonPlain):
            encode(bad)
    loop: list = []
    loop.append(loop)
    with pytest.raises(NonPlain, match="nested deeper"):
        encode(loop)


def test_probes_come_back_as_plain_records_and_a_case_is_not_asked_twice(bwrap):
    """A probe that is a case (spelled differently) is that case's one evaluation; others run after the cases."""
    counting = "CALLS = []\n\ndef add(a, b):\n    CALLS.append((a, b))\n    return a + b\n\ndef calls():\n    return len(CALLS)\n"
    probes = ["add(2,3)", "add(7, 7)", "calls()", "add(", "add(None, 1)"]
    result, values = run_cases_and_probes(bwrap, {"solution.py": counting}, "solution.py", CASES, probes)
    assert result.all_passed and [t.nodeid for t in result.tests][-1] == "hidden_cases.yaml::case[3]"
    assert values["add(2,3)"] == {"case": 0, "value": 5}
    assert values["add(7, 7)"]["value"] == 14
    assert values["calls()"]["value"] == 6  # the four cases' five calls, add(7, 7); add(2,3) was not re-run
    assert "add(" not in values  # one that does not parse is dropped, and stops nothing
    assert values["add(None, 1)"]["raised"][0] == "TypeError"


def test_probes_never_make_a_finished_run_time_out(bwrap):
    """Probes get what is left of PROBE_SHARE of the run's time; the cases' verdict stands."""
    slow = HONEST + "\nimport time\n\ndef slow():\n    time.sleep(30)\n    return 1\n"
    limits = Limits(timeout_s=3, cpu_s=3, memory_mb=512)
    result, values = run_cases_and_probes(bwrap, {"solution.py": slow}, "solution.py", CASES, ["slow()", "add(1, 1)"],
                                          limits=limits)
    assert result.all_passed and not result.timed_out
    assert values["slow()"] == {"case": 4, "timeout": True}  # cut at the budget, not at the run's limit
    assert "add(1, 1)" not in values  # past the probe budget: not run
