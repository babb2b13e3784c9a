"""Sandbox overhead: BwrapSandbox.run_tests vs the same pytest file in a plain subprocess.

    .venv/bin/python bench/sandbox.py [--runs 50]

Each round runs, in turn (interleaved, so machine noise hits all alike): a plain subprocess of
pytest in a fresh temp dir (the baseline), BwrapSandbox.run_tests, RlimitSandbox.run_tests, and
the bare start cost (`python -c pass` plain vs in bwrap). Prints medians and ratios from this one run.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentloop.sandbox import BwrapSandbox, RlimitSandbox
from agentloop.sandbox._base import write_files

FILES = {
    "solution.py": "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "test_fib.py": "from solution import fib\n\ndef test_small():\n    assert fib(10) == 55\n\n"
                   "def test_base():\n    assert [fib(i) for i in range(4)] == [0, 1, 1, 2]\n",
}
# The same flags the sandbox passes (see Sandbox._pytest_argv), so only the confinement differs.
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", ".",
          "--continue-on-collection-errors", "-o", "junit_family=xunit1", "--junitxml=junit.xml", "test_fib.py"]


def plain_pytest() -> None:
    """The baseline: what running the tests costs with no sandbox at all."""
    root = Path(tempfile.mkdtemp(prefix="bench-plain-"))
    try:
        write_files(root, FILES)
        subprocess.run(PYTEST, cwd=root, env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    finally:
        shutil.rmtree(root)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the rlimit fallback's warning is expected here
    bwrap, rlimit = BwrapSandbox(), RlimitSandbox()
    check = bwrap.run_tests(FILES, ["test_fib.py"])
    assert check.all_passed and len(check.tests) == 2, f"bench task does not pass in bwrap: {check}"

    cases: dict[str, Callable[[], object]] = {
        "plain subprocess pytest": plain_pytest,
        "BwrapSandbox.run_tests": lambda: bwrap.run_tests(FILES, ["test_fib.py"]),
        "RlimitSandbox.run_tests": lambda: rlimit.run_tests(FILES, ["test_fib.py"]),
        "plain python -c pass": lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
        "BwrapSandbox.exec python -c pass": lambda: bwrap.exec(["python", "-c", "pass"], {}),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, fn in cases.items():
            samples[name].append(timed(fn))
    med = {name: statistics.median(s) * 1000 for name, s in samples.items()}

    print(f"sandbox overhead, median of {args.runs} runs ({os.cpu_count()} cores, uid drop: {bwrap.drops_privileges})")
    for name, ms in med.items():
        print(f"{name:<42}{ms:9.1f} ms")
    base, start = med["plain subprocess pytest"], med["plain python -c pass"]
    print(f"{'bwrap run_tests / plain pytest':<42}{med['BwrapSandbox.run_tests'] / base:9.2f}x")
    print(f"{'bwrap run_tests - plain pytest':<42}{med['BwrapSandbox.run_tests'] - base:9.1f} ms")
    print(f"{'rlimit run_tests / plain pytest':<42}{med['RlimitSandbox.run_tests'] / base:9.2f}x")
    print(f"{'bwrap start cost (exec - plain python)':<42}{med['BwrapSandbox.exec python -c pass'] - start:9.1f} ms")


if __name__ == "__main__":
    main()
