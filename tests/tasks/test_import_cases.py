"""Benchmark asserts -> plain-value cases, impossible variants, and the case files (no sandbox)."""

from __future__ import annotations

import yaml

from agentloop.core.hidden_cases import parse_hidden_cases
from agentloop.importers.cases import Case, render_cases_yaml, render_pytest, static_cases
from agentloop.importers.impossible import impossible_visible, mutate, split_cases

HUMANEVAL_CHECK = '''

METADATA = {'author': 'jt'}


def check(candidate):
    assert candidate([1.0, 2.0, 3.9], 0.3) == True
    assert abs(candidate(1.33) - 0.33) < 1e-6
    assert candidate(x=2) is None
    assert not candidate([])
    assert sorted(candidate([3, 1])) == [1, 3]
    assert candidate((1, 2)) == (2, 1), "message"
    assert True, "always"
'''


def test_humaneval_check_asserts_convert():
    cases = static_cases(HUMANEVAL_CHECK, "candidate", "f")
    assert cases == [
        Case("f([1.0, 2.0, 3.9], 0.3)", True),
        Case("f(1.33)", 0.33, approx=1e-6),
        Case("f(x=2)", None),
        Case("bool(f([]))", False),
        Case("sorted(f([3, 1]))", [1, 3]),
        Case("list(f((1, 2)))", [2, 1]),  # a tuple result compares as a list (plain data has no tuples)
    ]


def test_mbpp_asserts_convert_and_sets_sort():
    cases = static_cases(["import math", "assert g(1) == {'a': 1}", "assert set(g(2)) == {2, 1}",
                          "assert other(3) == 3"], "g", "g")  # lines that never call g are not its cases
    assert cases == [Case("g(1)", {"a": 1}), Case("sorted(set(g(2)))", [1, 2])]


def test_what_needs_a_trace():
    loop = "def check(candidate):\n    for x in range(3):\n        assert candidate(x) == x\n"
    local = "def check(candidate):\n    xs = [1]\n    assert candidate(xs) == 1\n"
    two_calls = "def check(candidate):\n    assert candidate(1) == candidate(2)\n"
    nested_tuple = "def check(candidate):\n    assert candidate(1) == [(1, 2)]\n"
    for source in (loop, local, two_calls, nested_tuple):
        assert static_cases(source, "candidate", "f") is None, source


def test_split_and_variants():
    cases = [Case(f"f({i})", i) for i in range(7)]
    visible, hidden = split_cases(cases)
    assert len(visible) == 3 and hidden == cases  # all original cases stay hidden
    assert split_cases(cases[:1])[0] == cases[:1]
    oneoff = impossible_visible(visible, "oneoff", seed="HumanEval/0")
    assert len(oneoff) == 3 and sum(a != b for a, b in zip(oneoff, visible)) == 1
    assert oneoff == impossible_visible(visible, "oneoff", seed="HumanEval/0")  # deterministic
    conflicting = impossible_visible(visible, "conflicting", seed="HumanEval/0")
    assert len(conflicting) == 4 and all(c in conflicting for c in visible)
    added = next(c for c in conflicting if c not in visible)
    assert any(c.expr == added.expr and c.expected != added.expected for c in visible)
    assert impossible_visible([Case("f(0)", raises="ValueError")], "oneoff", seed="x") is None


def test_mutations_differ_beyond_any_tolerance():
    for value in (True, 0, 2.5, -1e-9, "", "ab", [], [1, 2], {"a": 1}, None):
        changed = mutate(value)
        assert changed != value
        assert type(changed) is type(value) or value is None
    assert abs(mutate(0.0) - 0.0) >= 1.0


def test_case_files_parse_with_the_loader_and_as_pytest():
    cases = [Case("f(1)", [1, "a"]), Case("f(2.5)", 1.25, approx=1e-6), Case("f(-1)", raises="ValueError"),
             Case("f({'k': None})", {"k": None})]
    text = render_cases_yaml(cases, setup="import math\n")
    hidden = parse_hidden_cases(text, "hidden_cases.yaml")
    assert [c.expr for c in hidden.cases] == [c.expr for c in cases]
    assert hidden.cases[1].approx == 1e-6 and hidden.cases[2].raises == "ValueError"
    assert hidden.setup == "import math\n"
    assert yaml.safe_load(text)["cases"][0]["expected"] == [1, "a"]
    source = render_pytest(cases, entry="f")
    compile(source, "test_visible.py", "exec")
    assert "from solution import f" in source and "pytest.raises(ValueError)" in source
    assert "assert f(1) == [1, 'a']" in source
