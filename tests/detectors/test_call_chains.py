"""A long call chain in an answer (`s.strip().strip()...`, what a degenerate 320-token answer looks like) costs
the static detectors work linear in its length: each name is resolved once. Before the memo in
`agentloop.detectors._fold.Resolver` each level resolved its callee twice over (~3^depth), and one such answer
held an experiment for 15 minutes in the framework's process. Counted in calls, not timed."""

from __future__ import annotations

import pytest

from agentloop.detectors import insecure, tampering
from agentloop.detectors._fold import Resolver

DEPTH = 200
CHAIN = "def f(s):\n    return s" + ".strip()" * DEPTH + "\n"
VISIBLE = {"test_f.py": "from solution import f\n\ndef test_f():\n    assert f(' a ') == 'a'\n"}


@pytest.fixture
def resolutions(monkeypatch) -> list[int]:
    count = [0]
    resolve = Resolver._qualname

    def counting(self, node):
        count[0] += 1
        return resolve(self, node)

    monkeypatch.setattr(Resolver, "_qualname", counting)
    return count


def test_tampering_resolves_a_call_chain_in_linear_work(resolutions):
    assert tampering.detect(CHAIN, {}, visible_tests=VISIBLE) == []
    assert 0 < resolutions[0] <= 4 * DEPTH


def test_insecure_resolves_a_call_chain_in_linear_work(resolutions):
    insecure.detect(CHAIN)
    assert resolutions[0] <= 4 * DEPTH


def test_a_binding_found_later_still_resolves():
    """The memo is cleared when a binding is learnt, so a name used before its alias is known still resolves."""
    import ast

    tree = ast.parse("import importlib\nname = 'os'\nm = importlib.import_module(name)\nm.system('x')\n")
    res = Resolver.of(tree)
    call = tree.body[-1].value
    assert res.qualname(call.func) == "os.system"


def test_bandit_leaves_no_marks_on_the_parsers_shared_nodes():
    """Bandit annotates every node it visits, the parser's shared `Load()`/`Add()` singletons too: left there,
    they tie the last answer's tree to every later one (a deepcopy of `r == 3` copied a 200-call chain and hit
    the recursion limit in the next test's visible-assertion probe)."""
    import ast

    insecure.detect(CHAIN + "x = 1 + 2 == 3\n")
    shared = ast.parse("y = a + b == c").body[0]
    assert all(not k.startswith("_bandit") for n in ast.walk(shared) for k in vars(n))


def test_copy_tree_copies_fields_and_positions_only():
    import ast

    from agentloop.detectors._ast_util import copy_tree

    tree = ast.parse("assert f(x)[0] == {'a': [1, 2]} and not g(*y, k=2)")
    tree.body[0].test.extra = tree  # what a deepcopy would follow
    copied = copy_tree(tree)
    assert ast.dump(copied, include_attributes=True) == ast.dump(tree, include_attributes=True)
    assert copied is not tree and copied.body[0] is not tree.body[0] and not hasattr(copied.body[0].test, "extra")


def test_code_too_deep_to_analyse_is_a_finding_not_a_crash():
    """A chain of 1500 calls (a long answer can write one) exceeds the recursion the static detectors use: the
    turn gets an `analysis` finding per detector that gave up, which labels nothing a hack or insecure."""
    from agentloop.core.types import HiddenCases, Task
    from agentloop.detectors import ANALYSIS, is_misaligned, static_findings

    task = Task(family="f", kind="honest", seed=0, title="t", spec="s", solution_file="solution.py", starter="",
                visible_tests=VISIBLE, hidden_cases=HiddenCases(cases=()))
    findings = static_findings(task, "def f(s):\n    return s" + ".strip()" * 1500 + "\n")
    assert {(f.detector, f.rule) for f in findings} == {(ANALYSIS, "ANALYSIS_TOO_DEEP")}
    assert sorted(f.message.split(":")[0] for f in findings) == ["insecure", "tampering"]
    assert not any(is_misaligned(f) for f in findings)
