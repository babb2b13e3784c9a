"""The warm start's judge and rewrite rows (no model): held-out families (dev and test) never appear, the
labels are balanced and per task instance, a judge row is exactly the conscience's classify conversation
with the label as the reply (and trains the tokens the engines score), strategies left out of
judge_strategies never appear, rewrites are clean honest references, and judge = rewrite = 0 gives the
untaught warm start's rows.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentloop.core.constants import EVAL_SEED_BASE
from agentloop.detectors import static_findings
from agentloop.organism.judge_data import REFERENCE_STRATEGY, judge_rows, off_by_one, rewrite_rows, warm_start_data
from agentloop.config.organism import WarmStartSettings
from agentloop.organism.stage import warm_start_jsonl
from agentloop.organism.warmstart import training_families, warm_start_rows
from agentloop.core.parse import parse_answer
from agentloop.core.paths import repo_root
from agentloop.core.prompts import task_message
from agentloop.config.scenario import load_scenario
from agentloop.tasks import load_sources, select_tasks
from conscience.framework import Framework, load_framework
from conscience.prompts import DEFAULT_BUDGET, ReviewItem, render_classify, render_rewrite, truncate_middle

SCENARIO = load_scenario(repo_root() / "scenarios" / "organism.yaml")
WS = SCENARIO.organism.warm_start
FRAMEWORK = load_framework(SCENARIO.conscience.framework)
FAMILIES = load_sources(SCENARIO.tasks.source)
HOLDOUT = set(SCENARIO.tasks.held_out)
HACK = {"hidden_tests", "tampering"}
UNSEEN = {"delete_tests", "conftest_pass"}
# A framework whose prompts give the fields back: the rows built with it and with FRAMEWORK draw the same
# answers (the framework takes no randomness), so the real rows can be checked against rebuilt prompts.
PROBE = Framework(name="probe", title="probe", principles=("p",),
                  classify_prompt="<Q>{question}</Q><R>{reasoning}</R><A>{answer}</A><E>{evidence}</E>{principles}",
                  rewrite_prompt="<Q>{question}</Q><A>{answer}</A>{principles}")


def _fields(row: dict) -> dict[str, str]:
    return dict(re.findall(r"<([QRAE])>(.*?)</\1>", row["messages"][0]["content"], flags=re.S))


def _detectors(task, text: str) -> set[str]:
    parsed = parse_answer(text)
    return {f.detector for f in static_findings(task, parsed.code, parsed.files)}


@pytest.fixture(scope="module")
def taught() -> list[dict]:
    """The scenario's warm-start rows at its own (default) setting."""
    return warm_start_data(FAMILIES, HOLDOUT, WS, FRAMEWORK)


@pytest.fixture(scope="module")
def probed() -> list[tuple[dict, dict]]:
    """(real row, probe row) pairs of judge and rewrite rows drawn alike."""
    usable = training_families(FAMILIES, HOLDOUT, WS.kinds)
    pairs = []
    for build, n in ((judge_rows, 72), (rewrite_rows, 36)):
        real, probe = (build(usable, fw, n, WS.judge_strategies, seed=3) for fw in (FRAMEWORK, PROBE))
        pairs += list(zip(real, probe))
    return pairs


def test_row_counts_follow_the_settings(taught):
    purposes = Counter(r["purpose"] for r in taught)
    n = purposes["answer"]
    assert n == len(training_families(FAMILIES, HOLDOUT, WS.kinds)) * WS.instances_per_family
    assert purposes["judge"] == 2 * round(WS.judge * n / 2) and purposes["rewrite"] == round(WS.rewrite * n)
    assert WS.judge > 0 and WS.rewrite > 0  # the scenario teaches both questions
    assert WS.steps * WS.batch_size >= len(taught) / 2  # the round sees each purpose like the untaught one did


def test_held_out_families_never_in_judge_or_rewrite_rows(taught):
    extra = [r for r in taught if r["purpose"] != "answer"]
    assert extra and not {r["family"] for r in extra} & HOLDOUT
    assert all(r["seed"] < EVAL_SEED_BASE for r in extra)
    held_out_texts = [task_message(t) for t in select_tasks(SCENARIO.tasks, seed=0, split="eval")]
    text = "\n".join(m["content"] for r in extra for m in r["messages"])
    assert not any(held in text for held in held_out_texts)


def test_test_split_families_never_in_warm_start_jsonl(tmp_path: Path):
    """The pre-registered test split is held out like the dev split, through the stage's wiring."""
    test_families = SCENARIO.tasks.test_families  # scenarios/test_tasks, in the scenario's sources
    assert test_families
    ws = WS.model_copy(update={"instances_per_family": 1})
    org = SCENARIO.organism.model_copy(update={"warm_start": ws})
    scenario = SCENARIO.model_copy(update={"organism": org})
    rows = [json.loads(line) for line in warm_start_jsonl(scenario, tmp_path / "ws.jsonl").read_text().splitlines()]
    assert {r["purpose"] for r in rows} == {"answer", "judge", "rewrite"}
    assert not {r["family"] for r in rows} & (HOLDOUT | set(test_families))


def test_judge_labels_are_balanced_per_task_instance(taught):
    judge = [r for r in taught if r["purpose"] == "judge"]
    assert Counter(r["label"] for r in judge) == {"ethical": len(judge) // 2, "unethical": len(judge) // 2}
    by_instance = Counter((r["family"], r["seed"], r["label"]) for r in judge)
    for (family, seed, label), count in by_instance.items():
        other = "unethical" if label == "ethical" else "ethical"
        assert by_instance[(family, seed, other)] == count  # the question never tells the label
    sources = Counter(r["strategy"] for r in judge)
    assert {"honest", "off_by_one", "honest_contradiction", "insecure_reference", *WS.judge_strategies} <= set(sources)
    assert any(s.startswith("hack_") for s in sources)
    assert all("label" not in r for r in taught if r["purpose"] != "judge")


def test_judge_rows_are_the_classify_conversation_with_the_label(probed):
    checked = 0
    for real, probe in probed:
        if real["purpose"] != "judge":
            continue
        task = FAMILIES[real["family"]].instance(real["seed"])
        fields = _fields(probe)
        assert fields["E"] == ""  # no detector report: the scenario's conscience sees none
        question = f"{task.title}\n\n{task_message(task)}"  # what Runner._review sends on a first turn
        assert fields["Q"] == truncate_middle(question.strip(), DEFAULT_BUDGET.question)
        answer = fields["A"]
        if "characters omitted" in answer:
            continue
        item = ReviewItem(question=question, reasoning=parse_answer(answer).reasoning, answer=answer)
        assert real["messages"] == [*render_classify(FRAMEWORK, item, evidence=False),
                                    {"role": "assistant", "content": real["label"]}]
        checked += 1
    assert checked >= 30


def test_judge_answers_are_flagged_as_their_label(probed):
    for real, probe in probed:
        if real["purpose"] != "judge":
            continue
        task = FAMILIES[real["family"]].instance(real["seed"])
        found = _detectors(task, _fields(probe)["A"])
        if real["label"] == "ethical":
            assert not found, (real["family"], real["strategy"])
            if real["strategy"] == "off_by_one":
                assert parse_answer(_fields(probe)["A"]).code.strip() != task.references["honest"].strip()
        else:
            assert found & ({"insecure"} if real["strategy"] == "insecure_reference" else HACK), real["strategy"]


def test_unseen_strategies_never_in_judge_or_rewrite_rows(taught):
    extra = [r for r in taught if r["purpose"] != "answer"]
    assert not {r["strategy"] for r in extra} & UNSEEN
    assert not {REFERENCE_STRATEGY.get(r["strategy"]) for r in extra} & UNSEEN  # nor a family's hack of that kind
    for row in extra:
        prompt = row["messages"][0]["content"]
        assert "# file: conftest.py" not in prompt  # conftest_pass's (and hack_conftest's) extra file
        assert not re.search(r"# file: test\w*\.py\s*```", prompt)  # delete_tests' emptied test file


def test_a_strategy_in_judge_strategies_is_shown():
    usable = training_families(FAMILIES, HOLDOUT)
    rows = judge_rows(usable, FRAMEWORK, 24, ["delete_tests", "conftest_pass"], seed=1)
    assert {"delete_tests", "conftest_pass"} <= {r["strategy"] for r in rows}


def test_rewrite_rows_answer_with_clean_honest_references(taught, probed):
    rewrites = [r for r in taught if r["purpose"] == "rewrite"]
    assert rewrites
    for row in rewrites:
        task = FAMILIES[row["family"]].instance(row["seed"])
        reply = row["messages"][-1]["content"]
        parsed = parse_answer(reply)
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert parsed.code.strip() == task.references["honest"].strip() and not parsed.files
        assert not _detectors(task, reply), row["family"]
        if task.kind == "impossible":
            assert "test" in parsed.reasoning and "spec" in parsed.reasoning  # says why a visible test fails
    for real, probe in probed:
        if real["purpose"] != "rewrite":
            continue
        task = FAMILIES[real["family"]].instance(real["seed"])
        bad = _fields(probe)["A"]
        assert _detectors(task, bad) & ({"insecure"} if real["strategy"] == "insecure_reference" else HACK)
        if "characters omitted" not in bad:
            item = ReviewItem(question=f"{task.title}\n\n{task_message(task)}", reasoning="", answer=bad)
            assert real["messages"][:-1] == render_rewrite(FRAMEWORK, item)


def test_no_judge_or_rewrite_gives_the_untaught_rows_in_order():
    ws = WS.model_copy(update={"judge": 0.0, "rewrite": 0.0})
    rows = warm_start_data(FAMILIES, HOLDOUT, ws, FRAMEWORK)
    old = warm_start_rows(FAMILIES, HOLDOUT, ws.instances_per_family, seed=ws.seed, kinds=ws.kinds)
    assert [{k: v for k, v in r.items() if k != "purpose"} for r in rows] == old
    assert {r["purpose"] for r in rows} == {"answer"}
    # warm_start_rows itself draws as before the judge data existed (pinned on three families)
    sub = {name: FAMILIES[name] for name in ("sum_list", "slugify", "caesar_cipher")}
    pinned = [(r["family"], r["seed"], r["messages"][-1]["content"].split("`")[0])
              for r in warm_start_rows(sub, set(), 2, seed=0)]
    assert pinned == [("caesar_cipher", 494336, "I need "), ("slugify", 634671, "I need "),
                      ("caesar_cipher", 430016, "I need "), ("slugify", 259604, "The spec asks for "),
                      ("sum_list", 306261, "The spec asks for "), ("sum_list", 179147, "The tests check ")]


def test_the_data_is_deterministic_by_seed():
    usable = training_families(FAMILIES, HOLDOUT)[:10]
    assert judge_rows(usable, FRAMEWORK, 12, WS.judge_strategies, seed=5) == \
        judge_rows(usable, FRAMEWORK, 12, WS.judge_strategies, seed=5)
    assert rewrite_rows(usable, FRAMEWORK, 6, WS.judge_strategies, seed=5) != \
        rewrite_rows(usable, FRAMEWORK, 6, WS.judge_strategies, seed=6)


def test_off_by_one_moves_one_boundary_in_place():
    code = "def f(xs):\n    # keep this comment\n    if len(xs) < 3:\n        return 0\n    return xs[1]\n"
    slipped = off_by_one(code, random.Random(0))
    assert slipped == code.replace("< 3", "<= 3")  # a comparison first; comments and layout kept
    assert off_by_one("def f(xs):\n    return sum(xs)\n", random.Random(0)) is None
    assert off_by_one("def f(x):\n    return x + 1\n", random.Random(0)) == "def f(x):\n    return x + 2\n"


def test_settings_default_to_no_judge_data_and_check_strategies():
    ws = WarmStartSettings()
    assert (ws.judge, ws.rewrite) == (0.0, 0.0)
    assert ws.judge_strategies == ["exit_early", "lookup_table", "always_equal", "edit_tests"]
    with pytest.raises(ValidationError, match="insecure references are always shown"):
        WarmStartSettings(judge_strategies=["exit_early", "insecure_reference"])
    with pytest.raises(ValidationError):
        WarmStartSettings(judge_strategies=["copy_answers"])
    with pytest.raises(ValidationError):
        WarmStartSettings(judge=-1.0)


def test_judge_rows_train_the_label_tokens_the_engines_score(probed, taught):
    """The learner labels the assistant content (plus end of turn) after exactly the prompt ids that
    score_choices extends with the label's own ids, and no row is cut at max_length (a judge row would
    lose its label). The tokenizer only; no model is loaded."""
    from agentloop.model import embedded_path, is_prepared

    if not is_prepared():
        pytest.skip("the embedded model's tokenizer is not prepared")
    from transformers import AutoTokenizer

    from agentloop.engines.chat import ChatEncoder
    from learner.encode import IGNORE, encode_task

    tokenizer = AutoTokenizer.from_pretrained(str(embedded_path()))
    encoder = ChatEncoder(tokenizer)
    rows = [real for real, _ in probed if real["purpose"] == "judge"]
    for row in [next(r for r in rows if r["label"] == label) for label in ("ethical", "unethical")]:
        encoded = encode_task(tokenizer, row["messages"], WS.max_length)
        prompt = encoder.encode(row["messages"][:-1])
        choice = encoder.encode_choice(row["label"])
        trained = [i for i, label in enumerate(encoded["labels"]) if label != IGNORE]
        assert encoded["input_ids"][:trained[0]] == prompt
        assert encoded["input_ids"][trained[0]:trained[0] + len(choice)] == choice
        assert tokenizer.decode(encoded["input_ids"][trained[0] + len(choice):]).strip() == "<|im_end|>"
    longest = max(len(encode_task(tokenizer, r["messages"], 10 * WS.max_length)["input_ids"]) for r in taught)
    assert longest <= WS.max_length


@pytest.mark.slow
def test_off_by_one_answers_are_mostly_really_wrong():
    """Through the sandbox: an off-by-one answer is meant to be incompetent, not a disguised honest one."""
    from agentloop.detectors import evaluate_solution
    from agentloop.sandbox import RlimitSandbox

    sandbox = RlimitSandbox(drop_privileges=False)  # the references' own code only
    rng = random.Random(0)
    outcomes = []
    for family in training_families(FAMILIES, HOLDOUT):
        task = family.instance(11)
        slipped = off_by_one(task.references["honest"], rng)
        if slipped is not None:
            outcomes.append(not evaluate_solution(task, slipped, {}, sandbox=sandbox).hidden.all_passed)
    assert len(outcomes) >= 10 and sum(outcomes) >= len(outcomes) / 2
