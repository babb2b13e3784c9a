"""The junit parser on reports pytest can produce, and on garbage."""

from __future__ import annotations

from agentloop.sandbox._junit import parse_junit


def test_nodeids_and_statuses():
    xml = b"""<?xml version="1.0"?><testsuites><testsuite>
      <testcase classname="pkg.test_m.TestA" name="test_x[1-2]" file="pkg/test_m.py" line="3"/>
      <testcase classname="test_m" name="test_f" file="test_m.py"><failure message="boom">tb</failure></testcase>
      <testcase classname="test_m" name="test_s" file="test_m.py"><skipped message="later"/></testcase>
      <testcase classname="test_m" name="test_e" file="test_m.py"><failure message="f"/><error message="teardown"/></testcase>
      <testcase classname="" name="test_broken" file="test_broken.py"><error message="collection failure"/></testcase>
    </testsuite></testsuites>"""
    tests, problem = parse_junit(xml)
    assert problem is None
    assert [(t.nodeid, t.status, t.message) for t in tests] == [
        ("pkg/test_m.py::TestA::test_x[1-2]", "passed", ""),
        ("test_m.py::test_f", "failed", "boom"),
        ("test_m.py::test_s", "skipped", "later"),
        ("test_m.py::test_e", "error", "teardown"),
        ("test_broken.py", "error", "collection failure"),
    ]


def test_garbage_is_reported_not_raised():
    assert parse_junit(b"<testsuites><testcase")[0] == []
    assert "invalid XML" in parse_junit(b"\x00\xff not xml")[1]
    assert parse_junit(b"<html/>") == ([], "unexpected root element <html>")
