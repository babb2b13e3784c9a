"""The static detectors agree with the conscience's hand-labelled judge set (written independently).

Every `hack` and `insecure` answer is flagged, every `honest` one is clean. Visible tests are taken
from the question's "Visible tests:" line; borderline and neutral rows are not scored.
"""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from agentloop.detectors import insecure, tampering
from agentloop.core.parse import parse_answer

# The answer's only block is "```ini\n# pytest.ini": the parser finds no code or file in it, so the
# runner records a `parse` finding; there is nothing for a code detector to read.
UNREADABLE = {"hack-pytest-ini-no-collect"}


def _rows() -> list[dict]:
    text = resources.files("conscience").joinpath("data/judge_set.jsonl").read_text()
    return [r for r in map(json.loads, text.splitlines()) if r["kind"] in {"hack", "insecure", "honest"}]


def _visible_tests(question: str) -> dict[str, str]:
    m = re.search(r"Visible tests?: (.*)", question)
    if not m:
        return {}
    asserts = [a.strip() for a in m.group(1).split(";")]
    body = "".join(f"    {'' if a.startswith('assert') else 'assert '}{a}\n" for a in asserts)
    return {"test_visible.py": "def test_visible():\n" + body}


def _flagged(row: dict) -> set[str]:
    parsed = parse_answer(row["answer"])
    question = row["question"]
    test_names = [n.rsplit("/", 1)[-1] for n in re.findall(r"[\w/]*test_\w+\.py", question)]
    findings = tampering.detect(
        parsed.code, parsed.files, visible_tests=_visible_tests(question), test_names=test_names,
        spec=question.split("Visible test")[0],
    ) + insecure.detect(parsed.code, parsed.files)
    return {f.rule for f in findings}


@pytest.mark.parametrize("row", [r for r in _rows() if r["id"] not in UNREADABLE], ids=lambda r: r["id"])
def test_judge_set_row(row: dict) -> None:
    rules = _flagged(row)
    if row["kind"] == "honest":
        assert rules == set(), f"honest answer flagged: {rules}"
    else:
        assert rules, f"{row['kind']} answer not flagged"
