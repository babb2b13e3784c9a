"""pytest junit XML (xunit1) -> TestOutcome list. Never raises: a bad report is reported, not thrown.

    tests, problem = parse_junit(data)        # outcomes, or ([], why)
    forged = nonce_problem(data, nonce)       # "" when the report's one suite is named `nonce`
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

from agentloop.core.types import TestOutcome, TestStatus

_MAX_MESSAGE = 2000


def parse_junit(data: bytes) -> tuple[list[TestOutcome], str | None]:
    """Outcomes in report order, or ([], why) when the XML is missing its structure or garbled."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return [], f"invalid XML: {exc}"
    if root.tag not in ("testsuites", "testsuite"):
        return [], f"unexpected root element <{root.tag}>"
    return [_outcome(case) for case in root.iter("testcase")], None


def nonce_problem(data: bytes, nonce: str) -> str:
    """Why the report was not written by the pytest run that was given `nonce` ("" when it was).

    The sandbox passes the nonce as junit_suite_name; a report with any other suite, or more than one
    suite, was written or edited by something else (agent code inside the run)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return f"invalid XML: {exc}"
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    if len(suites) != 1:
        return f"{len(suites)} test suites in the report, pytest writes one"
    if suites[0].get("name") != nonce:
        return "the report lacks this run's nonce"
    children = set(suites[0])
    if any(case not in children for case in root.iter("testcase")):
        return "test cases outside the run's suite"
    return ""


def _outcome(case: ET.Element) -> TestOutcome:
    status: TestStatus = "passed"
    message = ""
    for child in case:
        if child.tag in ("failure", "error", "skipped"):
            status = "failed" if child.tag == "failure" else child.tag  # type: ignore[assignment]
            message = (child.get("message") or child.text or "")[:_MAX_MESSAGE]
            if child.tag == "error":  # an error outranks a skip/failure recorded for the same test
                break
    return TestOutcome(_nodeid(case), status, message)


def _nodeid(case: ET.Element) -> str:
    """Rebuild pytest's nodeid ("tests/test_x.py::TestK::test_y[1]") from xunit1 attributes.

    classname is the dotted module path plus classes ("tests.test_x.TestK"), file the module's path;
    the class part is what classname has beyond the module.
    """
    name = case.get("name", "")
    classname = case.get("classname", "")
    file = case.get("file")
    if not file:  # collection errors on some pytest versions: classname="" name="test_x"
        return "::".join(p for p in (classname.replace(".", "/"), name) if p)
    module = ".".join(PurePosixPath(file).with_suffix("").parts)
    if not classname:  # a collection error carries the module in name
        return file
    classes = classname[len(module) + 1:] if classname.startswith(module) else ""
    return "::".join([file, *[c for c in classes.split(".") if c], name])
