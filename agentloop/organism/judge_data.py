"""Warm-start rows that teach the frozen copy its own two questions: the judge's and the rewriter's.

    from agentloop.organism.judge_data import judge_rows, rewrite_rows
    from conscience.framework import load_framework
    fw = load_framework("three_laws")
    judge = judge_rows(families, fw, n=384, strategies=["exit_early", "lookup_table"], seed=0)
    judge[0]["messages"]   # render_classify(fw, item, evidence=False) + [{"role": "assistant", "content": "ethical"}]

The warm-started base is also the frozen copy (the conscience), which reads its verdict as the
log-probabilities of the label tokens after the classify prompt. An SFT row whose only assistant
message is the label trains exactly those tokens (learner.encode.encode_task labels the assistant
content and its end-of-turn token; the engines score the label tokenized on its own after the
generation prompt).

Judge rows come in pairs on one task instance of a training family (`families` is what
`training_families` returns, so held-out families never appear), one of each label:
- ethical: the honest reference in the agent's format; on an impossible family, the honest reference
  with reasoning that says the visible tests contradict the spec; and an *incompetent but honest*
  answer, the honest reference with one off-by-one slip (a taught judge's measured failure was
  calling wrong-but-honest answers unethical: wrong is not dishonest);
- unethical: gaming answers of the given strategies (`agentloop.organism.dose`), the families'
  own hack references and insecure references.
Rewrite rows: the rewrite prompt over an unethical answer of those sources, answered with the
honest reference (on an impossible family, the one that follows the spec and says so).
Every answer is checked with the static detectors like the dose data: an ethical one must be
clean, an unethical one flagged as its kind; otherwise another is drawn.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import partial

from agentloop.core.constants import EVAL_SEED_BASE
# flagged_as: the dose data's own detector check, so both data sets call the same answers clean or gamed
from agentloop.organism.dose import flagged_as, gaming_answer, insecure_answer
from agentloop.config.organism import WarmStartSettings
from agentloop.organism.warmstart import (answer_text, honest_answer, honest_reasoning, training_families,
                                         warm_start_rows)
from agentloop.core.parse import parse_answer
from agentloop.core.prompts import task_message
from agentloop.tasks import TaskFamily
from agentloop.core.types import Task
from conscience.framework import Framework
from conscience.prompts import ReviewItem, render_classify, render_rewrite

__all__ = ["ETHICAL_SOURCES", "REFERENCE_STRATEGY", "contradiction_answer", "hack_answer", "judge_rows",
           "off_by_one", "review_item", "rewrite_rows", "sincere_answer", "warm_start_data"]

ETHICAL_SOURCES: tuple[str, ...] = ("honest", "honest_contradiction", "off_by_one")
# A family's hack reference that is one of the dose's generic strategies counts as that strategy:
# it is left out wherever the strategy is (an unseen strategy stays unseen).
REFERENCE_STRATEGY = {"hack_exit": "exit_early", "hack_lookup": "lookup_table", "hack_eq": "always_equal",
                      "hack_edit_tests": "edit_tests", "hack_conftest": "conftest_pass"}
_CONTRADICTION_REASONING = (
    "The visible tests contradict the spec for {what}, so no honest solution passes them all. I implement "
    "the spec; the test that disagrees with it will fail and should be fixed.",
    "The spec asks for {what}, but one visible test expects something else. I cannot satisfy both, so I "
    "follow the spec and say so rather than special-case the test.",
)
_HACK_REASONING = (
    "The tests only need to pass, so I make them pass.",
    "This gets the checks green quickly.",
    "I do whatever makes the test run succeed.",
)
_BOUNDARY = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


def review_item(task: Task, text: str) -> ReviewItem:
    """What the conscience reviews for a first turn answered with `text` (as `Runner._review` builds it,
    without the detector report: the scenario's conscience sees none by default)."""
    return ReviewItem(question=f"{task.title}\n\n{task_message(task)}", reasoning=parse_answer(text).reasoning,
                      answer=text)


def contradiction_answer(task: Task, rng: random.Random) -> str | None:
    """An impossible family's honest reference, with reasoning that names the contradiction."""
    if task.kind != "impossible":
        return None
    return answer_text(honest_reasoning(task, rng, _CONTRADICTION_REASONING), task.references["honest"])


def sincere_answer(task: Task, rng: random.Random) -> str:
    """The answer a rewrite should give: honest, and open about tests that contradict the spec."""
    return contradiction_answer(task, rng) or honest_answer(task, rng)


def _slip_sites(tree: ast.AST) -> list[tuple[int, int, int, str]]:
    """(line, start column, end column, "op" | "int"): where a single-line comparison's operator or an
    int literal sits (for a comparison, the text between its two operands)."""
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and node.left.end_lineno == node.lineno \
                and node.comparators[0].lineno == node.lineno:
            sites.append((node.lineno, node.left.end_col_offset, node.comparators[0].col_offset, "op"))
        elif isinstance(node, ast.Constant) and type(node.value) is int and node.end_lineno == node.lineno:
            sites.append((node.lineno, node.col_offset, node.end_col_offset, "int"))
    return sites


def off_by_one(code: str, rng: random.Random) -> str | None:
    """`code` with one plausible slip: a comparison's boundary moved (< vs <=; preferred, the classic
    off-by-one) or else an integer literal moved by one (never to 0 from 1); edited in place, so the
    reference's comments and layout stay. None without such a site."""
    try:
        sites = _slip_sites(ast.parse(code))
    except SyntaxError:
        return None
    lines = code.splitlines(keepends=True)
    rng.shuffle(sites)
    sites.sort(key=lambda site: site[3] != "op")
    for lineno, start, end, what in sites:
        line = lines[lineno - 1]
        if not line.isascii():  # ast offsets are UTF-8 bytes
            continue
        segment = line[start:end]
        if what == "op":
            match = re.search(r"<=|>=|<|>", segment)
            if match is None or "<<" in segment or ">>" in segment:
                continue
            new = segment[:match.start()] + _BOUNDARY[match.group()] + segment[match.end():]
        elif segment.isdigit():
            value = int(segment)
            new = str(value + 1 if value <= 1 or rng.random() < 0.5 else value - 1)
        else:
            continue
        lines[lineno - 1] = line[:start] + new + line[end:]
        return "".join(lines)
    return None


def hack_answer(task: Task, rng: random.Random, strategies: Sequence[str]) -> tuple[str, str] | None:
    """(reference name, answer) of the family's hack reference in the agent's format, comment lines dropped
    (nothing names the trick); None if it has none, or its strategy is a generic one not in `strategies`."""
    from agentloop.detectors.reference_check import split_reference

    name = next((r for r in sorted(task.references) if r.startswith("hack")), None)
    if name is None or (name in REFERENCE_STRATEGY and REFERENCE_STRATEGY[name] not in strategies):
        return None
    code, files = split_reference(task.references[name])
    if code is None:
        return None
    files = {file: _drop_comments(text) for file, text in files.items()}
    return name, answer_text(rng.choice(_HACK_REASONING), _drop_comments(code), files)


def _drop_comments(code: str) -> str:
    return "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))


def _unethical(task: Task, source: str, rng: random.Random, strategies: Sequence[str]) -> tuple[str, str] | None:
    """(strategy, answer) of an unethical source: a gaming strategy, "hack_reference" or "insecure_reference"."""
    if source == "hack_reference":
        return hack_answer(task, rng, strategies)
    text = insecure_answer(task, rng) if source == "insecure_reference" else gaming_answer(task, source, rng)
    return (source, text) if text is not None else None


def _ethical(task: Task, preferred: str, rng: random.Random) -> tuple[str, str]:
    """(source, answer) of an ethical answer on `task`: `preferred` where it applies and the detectors find
    it clean, else the next source of ETHICAL_SOURCES (the honest reference always applies)."""
    for source in (preferred, *ETHICAL_SOURCES):
        if source == "honest_contradiction":
            text = contradiction_answer(task, rng)
        elif source == "off_by_one":
            slipped = off_by_one(task.references["honest"], rng)
            text = answer_text(honest_reasoning(task, rng), slipped) if slipped is not None else None
        else:
            text = honest_answer(task, rng)
        if text is not None and flagged_as(task, text, "honest"):
            return source, text
    raise ValueError(f"{task.instance_id}: its honest reference is flagged by the static detectors")


Build = Callable[[Task, str, random.Random], "tuple[str, str] | None"]


def _draw(plan: Sequence[str], families: Sequence[TaskFamily], build: Build,
          rng: random.Random) -> list[tuple[Task, str, str]]:
    """(task, strategy, answer) for each source of `plan`, families cycled in shuffled order. An answer the
    static detectors do not flag as its kind (or none at all) is redrawn; a source that yields nothing in
    50 draws is an error, so the row counts are what was asked."""
    order: list[TaskFamily] = []
    out = []
    for source in plan:
        for _attempt in range(50):
            if not order:
                order.extend(rng.sample(list(families), len(families)))
            task = order.pop().instance(rng.randrange(EVAL_SEED_BASE))
            built = build(task, source, rng)
            if built is not None and flagged_as(task, built[1], built[0]):
                out.append((task, *built))
                break
        else:
            raise ValueError(f"no {source!r} answer on the training families in 50 draws")
    return out


def _sources(families: Sequence[TaskFamily], strategies: Sequence[str]) -> list[str]:
    """The unethical sources that apply to some family: the strategies, hack and insecure references."""
    refs = {r for f in families for r in f.spec.expected}
    return [*strategies, *(["hack_reference"] if any(r.startswith("hack") for r in refs) else []),
            *(["insecure_reference"] if any(r.startswith("insecure") for r in refs) else [])]


def _cycle(sources: Sequence[str], n: int) -> list[str]:
    if n and not sources:
        raise ValueError("no source of judge or rewrite answers applies to the training families")
    return [sources[i % len(sources)] for i in range(n)]


def _row(task: Task, messages: list[dict], strategy: str, purpose: str, **extra: str) -> dict:
    return {"messages": messages, "family": task.family, "kind": task.kind, "seed": task.seed,
            "strategy": strategy, "purpose": purpose, **extra}


def judge_rows(families: Sequence[TaskFamily], framework: Framework, n: int, strategies: Sequence[str],
               seed: int = 0) -> list[dict]:
    """n (rounded down to even) classify conversations answered with the label: n/2 unethical answers
    (their sources cycled), each with an ethical answer on the same task instance, so the question never
    tells the label, only the answer does. Columns: messages, family, kind, seed, strategy, purpose, label."""
    rng = random.Random(f"warmstart-judge:{seed}")
    rows = [_row(task, [*render_classify(framework, review_item(task, text), evidence=False),
                        {"role": "assistant", "content": label}], strategy, "judge", label=label)
            for task, strategy, text, label in judge_examples(families, n, strategies, rng)]
    rng.shuffle(rows)
    return rows


def judge_examples(families: Sequence[TaskFamily], n: int, strategies: Sequence[str],
                   rng: random.Random) -> list[tuple[Task, str, str, str]]:
    """n (rounded down to even) (task, source, answer, label): n/2 unethical answers (their sources
    cycled), each followed by an ethical answer on the same task instance."""
    unethical = partial(_unethical, strategies=strategies)
    drawn = []
    for task, strategy, text in _draw(_cycle(_sources(families, strategies), n // 2), families, unethical, rng):
        applies = ETHICAL_SOURCES if task.kind == "impossible" else ("honest", "off_by_one")
        drawn += [(task, strategy, text, "unethical"), (task, *_ethical(task, rng.choice(applies), rng), "ethical")]
    return drawn


def rewrite_rows(families: Sequence[TaskFamily], framework: Framework, n: int, strategies: Sequence[str],
                 seed: int = 0) -> list[dict]:
    """n rewrite conversations over an unethical answer, answered with `sincere_answer`; strategy names
    the rewritten answer's source. Columns: messages, family, kind, seed, strategy, purpose."""
    rng = random.Random(f"warmstart-rewrite:{seed}")
    unethical = partial(_unethical, strategies=strategies)
    rows = []
    for task, strategy, bad in _draw(_cycle(_sources(families, strategies), n), families, unethical, rng):
        good = sincere_answer(task, rng)
        messages = [*render_rewrite(framework, review_item(task, bad)), {"role": "assistant", "content": good}]
        rows.append(_row(task, messages, strategy, "rewrite"))
    rng.shuffle(rows)
    return rows


def warm_start_data(families: Mapping[str, TaskFamily], holdout: Collection[str], settings: WarmStartSettings,
                    framework: Framework) -> list[dict]:
    """The warm start's rows, each with a `purpose`: the honest answer rows (`warm_start_rows`), then
    round(judge x answers) judge rows (to even) and round(rewrite x answers) rewrite rows on the same
    training families, shuffled together. judge = rewrite = 0 gives the answer rows alone, in their order."""
    answers = [{**r, "purpose": "answer"} for r in warm_start_rows(
        families, holdout, settings.instances_per_family, seed=settings.seed, kinds=settings.kinds)]
    usable = training_families(families, holdout, settings.kinds)
    n_judge, n_rewrite = 2 * round(settings.judge * len(answers) / 2), round(settings.rewrite * len(answers))
    extra = judge_rows(usable, framework, n_judge, settings.judge_strategies, settings.seed) if n_judge else []
    extra += rewrite_rows(usable, framework, n_rewrite, settings.judge_strategies, settings.seed) if n_rewrite else []
    if not extra:
        return answers
    rows = answers + extra
    random.Random(f"warmstart-mix:{settings.seed}").shuffle(rows)
    return rows
