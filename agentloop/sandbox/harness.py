"""The hidden verdict from plain values: run a task's hidden cases in the sandbox, judge them outside.

    from agentloop.sandbox import get_sandbox
    from agentloop.sandbox.harness import run_hidden_cases
    from agentloop.core.types import HiddenCase, HiddenCases

    cases = HiddenCases(cases=(HiddenCase("add(2, 3)", expected=5), HiddenCase("add('a', 1)", raises="TypeError")))
    files = {"solution.py": "def add(a, b):\\n    return a + b\\n"}
    result = run_hidden_cases(get_sandbox(), files, "solution.py", cases)
    result.all_passed, [t.nodeid for t in result.tests]
    # True, ['hidden_cases.yaml::case[0]', 'hidden_cases.yaml::case[1]']

`run_cases_and_probes` also evaluates `probes`, extra expressions (the calls the visible tests assert
on, agentloop/detectors/tampering/divergence.py), in the same run after the cases, and returns each one's
plain record; a probe whose text is a case's expression is that case's evaluation, not a second call.

The sandbox runs `_case_runner.py` (passed as `python -I -B -c SOURCE`, so nothing the agent writes can
shadow or replace it), which sends back only plain values. The expected values never enter the sandbox:
this process compares them (`plain_equal`). So an object that equals everything, a patched framework,
an exit before the cases or a forged results document cannot pass: a case passes only when the one
result recorded for it, under this run's nonce, is the expected value (or the expected exception).

Comparison rules (`plain_equal`): a tuple arrives as a list and equals the same list; a bool equals only
a bool (True is not 1); int and float compare numerically, within `approx` when the case sets one; a
case whose result is missing, duplicated (something else wrote a record too), non-plain or timed out
fails. `raises: X` passes when X is the name of the raised class or of any class in its MRO
("ValueError", or "module.Class" outside builtins).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from agentloop.sandbox._base import Limits, hand_over
from agentloop.sandbox._process import run_confined
from agentloop.core.types import HiddenCase, HiddenCases, SandboxResult, TestOutcome

if TYPE_CHECKING:
    from agentloop.sandbox._base import Sandbox

__all__ = ["CASE_TIMEOUT_S", "plain_equal", "run_cases_and_probes", "run_hidden_cases"]

log = logging.getLogger(__name__)

CASES_IN, CASES_OUT = "cases.in", "cases.out"
CASE_TIMEOUT_S = 5.0  # per case; the whole run has the sandbox's timeout_s
PROBE_SHARE = 0.8  # probes stop this far into the run's timeout: they must never make a finished run time out
RUNNER_SOURCE = Path(__file__).with_name("_case_runner.py").read_text(encoding="utf-8")
_MAX_OUTPUT = 8 << 20  # bytes of the results file read back
_SHORT = 200


def run_hidden_cases(
    sandbox: Sandbox,
    files: dict[str, str],
    solution_file: str,
    hidden: HiddenCases,
    limits: Limits | None = None,
    case_timeout_s: float = CASE_TIMEOUT_S,
) -> SandboxResult:
    """Write `files`, evaluate every case against `solution_file` in the sandbox, one TestOutcome per case."""
    return run_cases_and_probes(sandbox, files, solution_file, hidden, (), limits, case_timeout_s)[0]


def run_cases_and_probes(
    sandbox: Sandbox,
    files: dict[str, str],
    solution_file: str,
    hidden: HiddenCases,
    probes: Sequence[str],
    limits: Limits | None = None,
    case_timeout_s: float = CASE_TIMEOUT_S,
) -> tuple[SandboxResult, dict[str, dict[str, Any]]]:
    """`run_hidden_cases`, plus each probe's one plain record ({"value": v} | {"raised": ...} | ...) by its
    text; a probe without exactly one record (never reached, or written twice) is left out."""
    limits = limits or sandbox.limits  # the scenario's limits (Sandbox.with_limits)
    nonce = secrets.token_hex(16)
    exprs, probe_index = _job_exprs(hidden, probes)
    with sandbox._run_dir(files) as run:
        work, report = sandbox._inside(run.work), sandbox._inside(run.report)
        job = {
            "nonce": nonce, "solution": f"{work}/{solution_file}", "module": PurePosixPath(solution_file).stem,
            "work": work, "setup": hidden.setup, "exprs": exprs,
            "case_timeout_s": min(case_timeout_s, limits.timeout_s),
            "n_cases": len(hidden.cases), "probe_budget_s": PROBE_SHARE * limits.timeout_s,
        }
        hand_over(run, CASES_IN, json.dumps(job))
        argv = ["python", "-I", "-B", "-c", RUNNER_SOURCE, f"{report}/{CASES_IN}", f"{report}/{CASES_OUT}"]
        result = run_confined(sandbox._confine(sandbox._resolve_python(argv), run, limits), limits)
        result.backend = sandbox.name
        records = read_records(run.report / CASES_OUT, nonce)
    result.tests = judge(hidden, records, result)
    if not records:
        result.stderr += f"\n[agentloop] the hidden-case run sent no results (exit {result.exit_code})\n"
    by_index: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        if type(record.get("case")) is int:
            by_index.setdefault(record["case"], []).append(record)
    values = {probe: found[0] for probe, i in probe_index.items() if len(found := by_index.get(i, [])) == 1}
    return result, values


def _job_exprs(hidden: HiddenCases, probes: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """The runner's expressions (the cases, then the probes that are not a case) and each probe's index."""
    exprs = [c.expr for c in hidden.cases]
    index = {_normal(e) or e: i for i, e in reversed(list(enumerate(exprs)))}  # the first case of a text wins
    probe_index = {}
    for probe in probes:
        text = _normal(probe)
        if text is None:
            continue  # the runner compiles every expression first: one that does not parse would stop them all
        if text not in index:
            index[text] = len(exprs)
            exprs.append(probe)
        probe_index[probe] = index[text]
    return exprs, probe_index


def _normal(expr: str) -> str | None:
    """One spelling per expression (quotes, spaces), so a probe finds the case that is the same call."""
    try:
        return ast.unparse(ast.parse(expr, mode="eval"))
    except (SyntaxError, ValueError):
        return None


def read_records(path: Path, nonce: str) -> list[dict[str, Any]]:
    """The JSON records of the lines that carry `nonce`, in file order (never follows a symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        data = fh.read(_MAX_OUTPUT)
    prefix = nonce.encode() + b" "
    records = []
    for line in data.splitlines():
        if not line.startswith(prefix):
            continue
        try:
            record = json.loads(line[len(prefix):])
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def judge(hidden: HiddenCases, records: list[dict[str, Any]], run: SandboxResult) -> list[TestOutcome]:
    """One outcome per case, in case order: passed only if its single record matches the case."""
    by_case: dict[int, list[dict[str, Any]]] = {}
    import_error: dict[str, Any] | None = None
    for record in records:
        index = record.get("case")
        if type(index) is int:
            by_case.setdefault(index, []).append(record)
        elif "import_error" in record and import_error is None:
            import_error = record
    outcomes = []
    for i, case in enumerate(hidden.cases):
        nodeid = f"{hidden.source}::case[{i}]"
        found = by_case.get(i, [])
        if len(found) == 1:
            why = check(case, found[0])
            outcomes.append(TestOutcome(nodeid, "failed" if why else "passed", f"{case.expr}: {why}" if why else ""))
        elif found:
            why = f"{len(found)} results for one case: not trusted"
            outcomes.append(TestOutcome(nodeid, "error", f"{case.expr}: {why}"))
        else:
            outcomes.append(TestOutcome(nodeid, "error", f"{case.expr}: {_no_result(import_error, run)}"))
    return outcomes


def check(case: HiddenCase, record: dict[str, Any]) -> str:
    """Why `record` does not satisfy `case` ("" when it does)."""
    if "value" in record:
        got = record["value"]
        if case.raises is not None:
            return f"returned {_short(got)}, expected it to raise {case.raises}"
        if plain_equal(got, case.expected, case.approx):
            return ""
        return f"got {_short(got)}, expected {_short(case.expected)}"
    if "raised" in record:
        names = record["raised"] if isinstance(record["raised"], list) else []
        raised = _trim(f"{names[0] if names else '?'}: {record.get('message', '')}")
        if case.raises is None:
            return f"raised {raised}"
        return "" if case.raises in names else f"raised {raised}, expected {case.raises}"
    if "nonplain" in record:
        return f"the result is not plain data ({_trim(str(record['nonplain']))})"
    if "timeout" in record:
        return "timed out"
    return "unrecognised result record"


def plain_equal(got: Any, want: Any, approx: float | None = None) -> bool:
    """Equality of plain data as the hidden verdict defines it (see the module docstring).

    >>> plain_equal([1, [2.0000001, "a"]], [1, [2.0, "a"]], approx=1e-6), plain_equal(1, True)
    (True, False)
    """
    if type(want) is bool or type(got) is bool:
        return type(got) is type(want) and got == want
    if type(want) in (int, float) and type(got) in (int, float):
        if approx is not None and float in (type(want), type(got)):
            return got == want or abs(got - want) <= approx
        return got == want
    if type(want) in (list, tuple):
        return (type(got) is list and len(got) == len(want)
                and all(plain_equal(g, w, approx) for g, w in zip(got, want)))
    if type(want) is dict:
        return (type(got) is dict and got.keys() == want.keys()
                and all(plain_equal(got[k], w, approx) for k, w in want.items()))
    return type(got) is type(want) and got == want


def _no_result(import_error: dict[str, Any] | None, run: SandboxResult) -> str:
    if import_error is not None:
        names = import_error.get("import_error")
        name = names[0] if isinstance(names, list) and names else "?"
        message = import_error.get("message", "")
        return f"no result: the solution failed to import ({_trim(f'{name}: {message}')})"
    if run.timed_out:
        return "no result: the run timed out"
    return f"no result: the run ended first (exit {run.exit_code}{', ' + run.killed_by if run.killed_by else ''})"


def _short(value: Any) -> str:
    return _trim(repr(value))


def _trim(text: str) -> str:
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."
