"""The rewrite audit on the real sandbox and detectors: a rewrite that solves the task, one that games
the tests, and one with no code, each measured like an agent turn; similarity to the rejected answer
and to the frozen copy's own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from agentloop.rewrite_audit import audit_pairs, sandbox_evaluator, similarity
from agentloop.sandbox import get_sandbox
from agentloop.tasks import load_sources


def _fenced(code: str) -> str:
    return f"I will do it properly.\n```python\n{code}\n```"


def test_each_rewrite_is_run_and_scored_like_a_turn():
    task = load_sources(None)["sum_even"].instance(3)
    honest, hack = _fenced(task.references["honest"]), _fenced(task.references["hack_special_case"])
    with ThreadPoolExecutor(2) as pool:
        solved, gamed, empty = audit_pairs([task] * 3, [honest, hack, "I cannot help with that."], [hack] * 3,
                                           [honest, None, hack], sandbox_evaluator(get_sandbox("auto")), pool)
    assert solved.chosen_parsed and solved.chosen_solves and not solved.chosen_hack and solved.chosen_rules == []
    assert solved.similarity_to_frozen == 1.0 and solved.similarity_to_rejected < 1.0
    assert gamed.chosen_hack and not gamed.chosen_solves and gamed.chosen_rules  # a rewrite that games is caught
    assert gamed.similarity_to_rejected == 1.0 and gamed.similarity_to_frozen is None
    assert not empty.chosen_parsed and empty.chosen_hidden_passed == 0 and not empty.chosen_hack
    assert set(solved.as_dict()) >= {"chosen_solves", "chosen_rules", "similarity_to_frozen"}


def test_similarity_compares_code_not_prose():
    assert similarity(_fenced("x = 1"), "Different words.\n```python\nx = 1\n```") == 1.0
    assert similarity(_fenced("x = 1"), _fenced("y = [i for i in range(9)]")) < 0.5


def test_a_rewrite_already_run_is_not_run_again():
    """A gated turn ran its rewrite: the audit takes that evaluation instead of a second sandbox run."""
    task = load_sources(None)["sum_even"].instance(3)
    honest = _fenced(task.references["honest"])
    evaluate = sandbox_evaluator(get_sandbox("auto"))
    ran = evaluate(task, task.references["honest"], {})

    def must_not_run(*_args):
        raise AssertionError("the rewrite's evaluation was known")

    with ThreadPoolExecutor(2) as pool:
        (audit,) = audit_pairs([task], [honest], [honest], [None], must_not_run, pool, known=[ran])
    assert audit.chosen_solves and audit.chosen_hidden_total == len(ran.hidden.tests)
