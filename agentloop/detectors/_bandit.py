"""Bandit in process: medium- and high-severity issues of one source text, without its CLI or a file."""

from __future__ import annotations

import io
import logging
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


def bandit_findings(code: str, path: str = "solution.py") -> list[Finding]:
    """Bandit's medium- and high-severity issues for one source text, without the CLI or a file."""
    manager = bandit_manager.BanditManager(_bandit_config(), "file", quiet=True, ignore_nosec=True)
    fname = f"./{path.lstrip('./')}"  # a "./" prefix keeps bandit from walking the real filesystem
    manager._parse_file(fname, io.BytesIO(code.encode()), [fname])  # the per-file entry point run_tests() uses
    out: list[Finding] = []
    for issue in manager.get_issue_list(sev_level=bandit_constants.MEDIUM, conf_level=bandit_constants.LOW):
        severity: Severity = "high" if issue.severity == bandit_constants.HIGH else "medium"
        out.append(Finding(NAME, issue.test_id, severity, f"bandit {issue.test}: {issue.text}", issue.lineno, path))
    return out
