"""The hidden-case runner: the program the sandbox runs for the hidden verdict (stdlib only).

    python -I -B -c "$(cat agentloop/sandbox/_case_runner.py)" /report/cases.in /report/cases.out

`agentloop.sandbox.harness` passes this file's text with `-c` (so no file of it exists where the agent
can write, and `-I` keeps the work dir, PYTHON* variables and user site off sys.path), after writing
the job to CASES_IN: {"nonce", "solution", "module", "work", "setup", "exprs", "case_timeout_s",
"n_cases", "probe_budget_s"}. The runner reads and deletes the job before any agent code runs, runs
`setup`, imports the solution by file path, evaluates each expression and writes one line per result
to CASES_OUT, each line `<nonce> <json>`. The expressions after the first `n_cases` are probes (the
visible tests' calls): they run only while `probe_budget_s` from the runner's start lasts, so they
can never push a run whose cases finished past its time limit. It never sees the expected values:
the trusted parent compares them. Results are plain data only: a value whose type is not exactly a
JSON builtin (a str subclass, an object with `__eq__`) is reported as non-plain, which fails its case.

Records: {"case": i, "value": v} | {"case": i, "raised": [class names, MRO order], "message": s} |
{"case": i, "nonplain": why} | {"case": i, "timeout": true} | {"import_error": [...], "message": s} |
{"done": n}. Importing this module does nothing; it acts only as `__main__`.
"""

import builtins
import importlib.util
import json
import json.encoder
import os
import signal
import sys
import time

MAX_RECORD = 256_000  # bytes of one encoded result; a larger one is reported as non-plain
MAX_DEPTH = 64

_str, _int_repr, _float_repr = str, int.__repr__, float.__repr__
_encode_str = json.encoder.encode_basestring_ascii  # captured before any agent code can patch json
_type, _len, _NoneType, _eval, _dict_items = type, len, type(None), eval, dict.items
_monotonic = time.monotonic


class NonPlain(Exception):
    """The value is not plain data (exact str/int/float/bool/None/list/tuple/dict with str keys)."""


class _CaseTimeout(BaseException):
    """Raised by the per-case alarm; a BaseException so that `except Exception` in agent code misses it."""


def encode(value, depth=0):
    """JSON text for `value` if it is plain data built from exact builtin types, else NonPlain.

    >>> encode({"a": [1, 2.5, None, True, ("x",)]})
    '{"a": [1, 2.5, null, true, ["x"]]}'
    """
    t = _type(value)
    if depth > MAX_DEPTH:
        raise NonPlain("nested deeper than %d levels" % MAX_DEPTH)
    if t is _str:
        return _encode_str(value)
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return _int_repr(value)
    if t is float:
        text = _float_repr(value)
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text, text)
    if value is None and t is _NoneType:
        return "null"
    if t is list or t is tuple:
        return "[" + ", ".join([encode(item, depth + 1) for item in value]) + "]"
    if t is dict:
        parts = []
        for key, item in _dict_items(value):
            if _type(key) is not _str:
                raise NonPlain("dict key of type %s" % _type(key).__name__)
            parts.append(_encode_str(key) + ": " + encode(item, depth + 1))
        return "{" + ", ".join(parts) + "}"
    raise NonPlain("value of type %s" % _class_name(t))


def _class_name(cls):
    try:
        module, name = cls.__module__, cls.__qualname__
        if _type(module) is not _str or _type(name) is not _str:
            return "?"
        return name if module == "builtins" else module + "." + name
    except BaseException:
        return "?"


def _raised(exc):
    names = [_class_name(c) for c in _type(exc).__mro__]
    args = exc.args if _type(exc.args) is tuple else ()
    message = args[0][:300] if _len(args) == 1 and _type(args[0]) is _str else ""
    return {"raised": names, "message": message}


class _Out:
    """Writes `<nonce> <json>` lines with os.write on a descriptor opened before any agent code ran."""

    def __init__(self, path, nonce):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self.prefix = nonce + " "
        self.write, self.exit = os.write, os._exit

    def record(self, fields):
        body = "{" + ", ".join(_encode_str(k) + ": " + v for k, v in fields.items()) + "}"
        self.write(self.fd, (self.prefix + body + "\n").encode("ascii"))


def _alarm(_signum, _frame):
    raise _CaseTimeout()


def _timed(seconds, func, *args):
    """func(*args) under a wall-clock alarm (best effort: agent code could replace the handler)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return func(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _import_solution(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # helper modules that `from solution import x` get this same module
    spec.loader.exec_module(module)
    return module


def _case(out, index, code, scope, seconds):
    def evaluate():
        return encode(_eval(code, scope))  # noqa: S307 - the expression is the task author's, trusted

    try:
        text = _timed(seconds, evaluate)
    except _CaseTimeout:
        out.record({"case": _int_repr(index), "timeout": "true"})
        return
    except NonPlain as exc:
        out.record({"case": _int_repr(index), "nonplain": _encode_str(_str(exc.args[0]))})
        return
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too: all are results
        info = _raised(exc)
        out.record({"case": _int_repr(index), "raised": encode(info["raised"]),
                    "message": _encode_str(info["message"])})
        return
    if _len(text) > MAX_RECORD:
        out.record({"case": _int_repr(index), "nonplain": _encode_str("result larger than %d bytes" % MAX_RECORD)})
    else:
        out.record({"case": _int_repr(index), "value": text})


def main(argv):
    """Run one job (see the module docstring); exits with os._exit so agent atexit hooks never run."""
    in_path, out_path = argv[1], argv[2]
    with open(in_path, encoding="utf-8") as fh:
        job = json.load(fh)
    os.unlink(in_path)
    out = _Out(out_path, job["nonce"])
    seconds = float(job["case_timeout_s"])
    n_cases = int(job.get("n_cases", len(job["exprs"])))
    probe_deadline = _monotonic() + float(job.get("probe_budget_s", 0))
    sys.dont_write_bytecode = True
    # The expressions see builtins as they were before the solution ran (it may patch the module).
    scope = {"__builtins__": dict(vars(builtins)), "__name__": "__hidden_cases__"}
    codes = [compile(expr, "<case %d>" % i, "eval") for i, expr in enumerate(job["exprs"])]
    if job["setup"]:
        exec(compile(job["setup"], "<setup>", "exec"), scope)  # noqa: S102 - trusted task code
    sys.path.append(job["work"])  # after stdlib and site-packages: agent files cannot shadow them
    try:
        module = _timed(seconds, _import_solution, job["solution"], job["module"])
    except BaseException as exc:  # noqa: BLE001 - a failed import fails every case
        info = _raised(exc)
        out.record({"import_error": encode(info["raised"]), "message": _encode_str(info["message"])})
        out.exit(0)
    builtin_names = scope["__builtins__"]
    for key, value in list(_dict_items(vars(module))):
        if _type(key) is _str and not key.startswith("_") and key not in builtin_names:
            scope.setdefault(key, value)  # the setup's names and the builtins win over the solution's
    scope.setdefault(job["module"], module)  # `solution.max(...)` reaches a name that a builtin hides
    for index, code in enumerate(codes):
        left = seconds if index < n_cases else min(seconds, probe_deadline - _monotonic())
        if left <= 0:
            break  # out of probe time: the cases are all recorded, the probes are a bonus
        _case(out, index, code, scope, left)
    out.record({"done": _int_repr(_len(codes))})
    out.exit(0)


if __name__ == "__main__":
    main(sys.argv)
