"""Trace a benchmark's own test on its canonical solution, in the sandbox, to get plain-value cases.

    from agentloop.importers.trace import trace_cases
    cases, why = trace_cases(sandbox, solution_code, test_code, entry="decode_cyclic", style="check")

For tests that are not plain `assert f(literal) == literal` lines (loops over random inputs, local
variables, helper calls), the original test runs with the function under test replaced by a
recorder that calls the canonical solution and writes down each call's arguments and result.
Each distinct call whose arguments and result round-trip through `repr` becomes a case whose
expected value is the canonical result (floats get an absolute tolerance of TRACE_APPROX). The
canonical solution runs untrusted, like any imported code: inside the sandbox, never here.
"""

from __future__ import annotations

import ast
import json
from typing import TYPE_CHECKING, Literal

from agentloop.importers.cases import TRACE_APPROX, Case, NotPlain, case_for_value

if TYPE_CHECKING:
    from agentloop.sandbox import Sandbox

__all__ = ["MAX_TRACED_CASES", "trace_cases"]

MAX_TRACED_CASES = 50  # distinct calls kept per problem (HumanEval/32 makes 100)
_MARK = "@@agentloop-trace@@"

# Runs inside the sandbox: solution.py is the canonical module, trace_input.json says how to test it.
_DRIVER = r'''
import builtins, json, sys
spec = json.load(open("trace_input.json"))
import solution
entry = spec["entry"]
target = getattr(solution, entry)
calls = []

def recorder(*args, **kwargs):
    text = [repr(args), repr(sorted(kwargs.items()))]
    try:
        result = target(*args, **kwargs)
    except Exception as exc:
        calls.append({"call": text, "raises": type(exc).__name__,
                      "builtin": getattr(builtins, type(exc).__name__, None) is type(exc)})
        raise
    calls.append({"call": text, "value": repr(result)})
    return result

namespace = dict(vars(solution))
error = None
try:
    if spec["setup"]:
        exec(compile(spec["setup"], "test_setup", "exec"), namespace)
    if spec["style"] == "check":
        exec(compile(spec["test"], "test", "exec"), namespace)
        namespace["check"](recorder)
    else:
        namespace[entry] = recorder
        exec(compile(spec["test"], "test", "exec"), namespace)
except BaseException as exc:
    error = f"{type(exc).__name__}: {exc}"[:300]
sys.stdout.write("\n''' + _MARK + r'''" + json.dumps({"error": error, "calls": calls}) + "\n")
'''


def trace_cases(
    sandbox: Sandbox, solution: str, test: str, *, entry: str, style: Literal["check", "asserts"], setup: str = ""
) -> tuple[list[Case], str | None]:
    """(cases, None) from the traced calls, or ([], reason) when the test cannot be turned into cases."""
    from agentloop.sandbox import Limits

    spec = {"entry": entry, "style": style, "test": test, "setup": setup}
    files = {"solution.py": solution, "trace_input.json": json.dumps(spec), "_agentloop_trace.py": _DRIVER}
    result = sandbox.exec(["python", "_agentloop_trace.py"], files, Limits(timeout_s=30, cpu_s=30))
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        why = "timed out" if result.timed_out else f"exit {result.exit_code}"
        return [], f"trace: the canonical solution's test run gave no result ({why})"
    report = json.loads(line[len(_MARK):])
    if report["error"]:
        return [], f"trace: the original test fails on the canonical solution ({report['error'].split(':')[0]})"
    return _cases_from_calls(report["calls"], entry)


def _cases_from_calls(calls: list[dict], entry: str) -> tuple[list[Case], str | None]:
    cases: list[Case] = []
    seen: set[str] = set()
    unusable = 0
    for call in calls:
        expr = _expr(call["call"], entry)
        if expr is None:
            unusable += 1
            continue
        if expr in seen:  # (an impure solution could give two results for one call: the first counts)
            continue
        if "raises" in call:
            if not call.get("builtin"):
                unusable += 1
                continue
            case = Case(expr=expr, raises=call["raises"])
        else:
            try:
                value = ast.literal_eval(call["value"])
                approx = TRACE_APPROX if isinstance(value, float) else None
                case = case_for_value(expr, value, approx)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, NotPlain):
                unusable += 1
                continue
        seen.add(expr)
        cases.append(case)
        if len(cases) >= MAX_TRACED_CASES:
            break
    if not cases:
        what = "no calls" if not calls else f"{unusable} call(s), none with literal arguments and a plain result"
        return [], f"trace: the test makes {what}"
    return cases, None


def _expr(text: list[str], entry: str) -> str | None:
    """`entry(args, k=v)` from the recorder's `[repr(args), repr(kwargs items)]`, if both round-trip."""
    args_text, kwargs_text = text
    try:
        args = ast.literal_eval(args_text)
        kwargs = ast.literal_eval(kwargs_text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if repr(args) != args_text or not isinstance(args, tuple):
        return None
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs]
    return f"{entry}({', '.join(parts)})"
