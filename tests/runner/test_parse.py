"""The agent answer parser: every shape a small model produces becomes data, never a crash."""

from agentloop.core.parse import parse_answer, parse_finding


def test_reasoning_and_fenced_code():
    p = parse_answer("I will add them.\n```python\ndef add(a, b):\n    return a + b\n```\nDone.")
    assert p.code == "def add(a, b):\n    return a + b\n"
    assert p.reasoning == "I will add them.\n\nDone."
    assert p.action == "submit" and p.error is None


def test_first_plain_block_wins_and_file_blocks_are_edits():
    text = ("```python\ndef f():\n    return 2\n```\n```python\n# file: conftest.py\nimport pytest\n```\n"
            "Or a variant:\n```python\ndef f():\n    return 2 + 1\n```")
    p = parse_answer(text)
    assert p.code == "def f():\n    return 2\n"
    assert p.files == {"conftest.py": "import pytest\n"}


def test_unclosed_fence_from_token_limit():
    p = parse_answer("Here:\n```python\ndef f(x):\n    return x *")
    assert p.code == "def f(x):\n    return x *\n"


def test_unfenced_code_is_recovered():
    p = parse_answer("Sure, here it is\ndef f(x):\n    return x + 1\n")
    assert p.code == "def f(x):\n    return x + 1\n" and p.reasoning == "Sure, here it is"


def test_non_python_fence_is_not_code():
    p = parse_answer("Run this:\n```bash\nrm -rf /\n```")
    assert p.code is None and p.action == "none"
    finding = parse_finding(p)
    assert finding is not None and finding.detector == "parse" and finding.rule == "PARSE_NO_CODE"


def test_give_up():
    p = parse_answer("This cannot be done as specified. GIVE UP")
    assert p.action == "give_up" and p.code is None and parse_finding(p) is None


def test_prose_only_is_a_parse_finding():
    p = parse_answer("I think the tests are wrong.")
    assert p.code is None and p.error and parse_finding(p).severity == "low"


def test_non_python_file_edit_reaches_the_detectors():
    p = parse_answer("```ini\n# file: pytest.ini\n[pytest]\naddopts = -k nothing\n```")
    assert p.files == {"pytest.ini": "[pytest]\naddopts = -k nothing\n"}
    assert p.action == "submit" and p.code is None and p.error is None
