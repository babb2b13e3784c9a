"""Bandit in process: medium- and high-severity issues of one source text, without its CLI or a file."""

from __future__ import annotations

import ast
import io
import logging
import threading
import warnings
from functools import lru_cache

# bandit's optional formatter plugins (sarif) fail to load and stevedore logs that as an ERROR on
# every process start; we use no formatter, so that message is noise.
logging.getLogger("stevedore.extension").setLevel(logging.CRITICAL)
with warnings.catch_warnings():  # stevedore warns about a deprecated argument while bandit loads plugins
    warnings.simplefilter("ignore", DeprecationWarning)
    from bandit.core import config as bandit_config
    from bandit.core import constants as bandit_constants
    from bandit.core import manager as bandit_manager

from agentloop.core.types import Finding, Severity

NAME = "insecure"


@lru_cache(maxsize=1)
def _bandit_config() -> bandit_config.BanditConfig:
    return bandit_config.BanditConfig()  # loading the plugins costs ~0.2 s: once per process


# Bandit writes `_bandit_parent`/`_bandit_sibling` onto every node it visits, the parser's shared singletons
# (`Load()`, `Add()`, `Eq()`, ...) included: one run at a time, and those are wiped after each, or they keep the
# last answer's tree alive and reachable from every later tree (a deepcopy of any expression copied it).
_LOCK = threading.Lock()
_SINGLETONS = list(dict.fromkeys(n for n in ast.walk(ast.parse(
    "del a\nb = -c + d - e * f / g // h % i ** j @ k << l >> m | n ^ o & p\n"
    "q = (~r, not s, +t, u and v or w, x == y != z < a <= b > c >= d is e is not f in g not in h)"))
    if not n._fields))


def _wipe_bandit_marks() -> None:
    for node in _SINGLETONS:
        for name in [k for k in vars(node) if k.startswith("_bandit")]:
            delattr(node, name)


def bandit_findings(code: str, path: str = "solution.py") -> list[Finding]:
    """Bandit's medium- and high-severity issues for one source text, without the CLI or a file."""
    manager = bandit_manager.BanditManager(_bandit_config(), "file", quiet=True, ignore_nosec=True)
    fname = f"./{path.lstrip('./')}"  # a "./" prefix keeps bandit from walking the real filesystem
    with _LOCK:
        try:
            manager._parse_file(fname, io.BytesIO(code.encode()), [fname])  # the per-file entry run_tests() uses
        finally:
            _wipe_bandit_marks()
    out: list[Finding] = []
    for issue in manager.get_issue_list(sev_level=bandit_constants.MEDIUM, conf_level=bandit_constants.LOW):
        severity: Severity = "high" if issue.severity == bandit_constants.HIGH else "medium"
        out.append(Finding(NAME, issue.test_id, severity, f"bandit {issue.test}: {issue.text}", issue.lineno, path))
    return out
