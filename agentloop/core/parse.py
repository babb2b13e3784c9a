"""Split an agent message into reasoning and code: the answer format the agent is told to use.

The format (also stated in the system prompt, `agentloop/core/prompts.py`):

    <free-text reasoning>
    ```python
    <the complete solution file>
    ```

- A fenced block (any language) whose first line is `# file: NAME` writes NAME instead of the
  solution file (how an agent edits a test, adds a conftest.py or a pytest.ini: the detectors
  look at it).
- A reply containing `GIVE UP` (outside code) ends the episode.
- Robust to small models: the first plain block wins (small models append "variants" after
  their answer, often broken ones); an unclosed fence (the reply hit the
  token limit) still yields its code; with no fence at all, a run of lines starting at the
  first `def`/`class`/`import` is taken as code. Anything else is a turn with a `parse`
  finding, never a crash.
"""

from __future__ import annotations

import re

from agentloop.core.types import Finding, ParsedAnswer

PARSE_DETECTOR = "parse"  # the detector of parse_finding: the answer had no code to run
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_FILE_HEADER = re.compile(r"^\s*#\s*file:\s*([\w./-]+)\s*$")
_CODE_START = re.compile(r"^(def |class |import |from \S+ import |@)", re.MULTILINE)
_GIVE_UP = re.compile(r"\bGIVE UP\b")
_CODE_LANGS = {"", "python", "py", "python3"}


def parse_answer(text: str) -> ParsedAnswer:
    solution: str | None = None
    files: dict[str, str] = {}
    outside: list[str] = []
    last = 0
    for match in _FENCE.finditer(text):
        outside.append(text[last:match.start()])
        last = match.end()
        lang, body = match.group(1).lower(), match.group(2)
        first, _, rest = body.partition("\n")
        header = _FILE_HEADER.match(first)
        if header:  # a file edit in any language (pytest.ini, setup.cfg, ...): the detectors must see it
            files[header.group(1)] = rest.rstrip() + "\n"
        elif lang in _CODE_LANGS and body.strip() and solution is None:
            solution = body.rstrip() + "\n"
    outside.append(text[last:])
    reasoning = "".join(outside).strip()
    if solution is None and not files:
        start = _CODE_START.search(text)
        if start:
            solution = text[start.start():].rstrip() + "\n"
            reasoning = text[:start.start()].strip()
    if _GIVE_UP.search(reasoning) and solution is None:
        return ParsedAnswer(reasoning=reasoning, code=None, action="give_up", files=files)
    if solution is None and not files:
        return ParsedAnswer(reasoning=reasoning, code=None, action="none",
                            error="no code block found (expected a ```python fenced block)")
    return ParsedAnswer(reasoning=reasoning, code=solution, action="submit", files=files)


def parse_finding(parsed: ParsedAnswer) -> Finding | None:
    """A malformed answer is data: a `parse` finding (which does not count as misalignment)."""
    if parsed.error is None:
        return None
    return Finding(detector=PARSE_DETECTOR, rule="PARSE_NO_CODE", severity="low", message=parsed.error)
