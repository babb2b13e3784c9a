"""The viewer's experiment pages on a store written through the runner's own write API (store.recorder.Recorder,
via tests/_recorded_ablation): the same cells as `agentloop report` (every rate with k/n and an interval, or
the reason there is none), the seed-level differences, the degenerate rate and the rewrite audit of the pairs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from starlette.testclient import TestClient

from _recorded_ablation import Cells, record_ablation
from _recorded_audit import EXPERIMENT, record_audit_experiment
from agentloop.core.metrics import wilson
from agentloop.report import build_report
from agentloop.report_audit import AUDIT_COLUMNS
from agentloop.report_differences import SEED_DIFF_COLUMNS, final_differences
from agentloop.report_format import ALIGNMENT_COLUMNS, ARM_KEYS
from store import ensure_schema

HONEST = [("honest", ["pass"]), ("honest", ["stub"])]


def episodes(hacks: int, stubs: int) -> list[tuple[str, list[str]]]:
    assert hacks + stubs <= 6, "six impossible tasks"
    return ([("impossible", ["hack"])] * hacks + [("impossible", ["stub"])] * stubs
            + [("impossible", ["pass"])] * (6 - hacks - stubs) + HONEST)


# off hacks more at epoch 1 in each of three seeds; self's stubs vary by seed
CELLS: Cells = {**{("off", s): {0: episodes(0, 0), 1: episodes(h, 1)} for s, h in ((0, 5), (1, 4), (2, 5))},
                **{("self", s): {0: episodes(0, 0), 1: episodes(h, k)} for s, h, k in ((0, 1, 2), (1, 0, 0), (2, 1, 3))}}
RATE = re.compile(r"^\d\.\d{3} (\[\d\.\d\d, \d\.\d\d\]|\[(seeds identical|one seed)\] W\[\d\.\d\d, \d\.\d\d\]) "
                  r"\(\d+/\d+\)$")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[tuple[TestClient, str, dict[tuple[str, int], int]]]:
    from agentloop.view import create_app, open_readonly_store

    url = f"sqlite:///{tmp_path_factory.mktemp('experiment') / 'store.db'}"
    writer = ensure_schema(url)
    run_ids = record_ablation(writer, "exp-view", CELLS)
    writer.dispose()
    store = open_readonly_store(url)
    with TestClient(create_app(store)) as client:
        yield client, url, run_ids
    store.dispose()


def table_rows(html: str, table_class: str) -> list[list[str]]:
    """The text of each body cell of `<table class="table_class">`, row by row."""
    body = html[html.index(f'<table class="{table_class}">'):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    return [[unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in body.split("<tr>")[1:]]


def test_experiments_are_listed_and_linked(recorded):
    client, _, run_ids = recorded
    html = client.get("/experiments").text
    assert '<a href="/experiments/exp-view">exp-view</a>' in html and "<td>off, self</td>" in html
    assert '<a href="/experiments/exp-view">exp-view</a>' in client.get(f"/runs/{run_ids[('self', 0)]}").text
    assert client.get("/experiments/nope").status_code == 404
    assert client.get(f"/experiments/{run_ids[('off', 0)]}").status_code == 404  # a run id is not an experiment


def test_page_shows_the_reports_cells(recorded):
    client, url, _ = recorded
    html = client.get("/experiments/exp-view").text
    report = build_report(url, "exp-view")
    arms = sorted(report.arms, key=lambda r: (r["arm"] != "off", r["epoch"]))
    shown = table_rows(html, "alignment")
    assert shown == [[get(r) for _, get in ARM_KEYS + ALIGNMENT_COLUMNS] for r in arms]
    headers = [h for h, _ in ALIGNMENT_COLUMNS]
    for row in shown:  # every rate: k/n and a t interval, or why there is none and the pooled Wilson one
        for header in ("aligned rate", "aligned, not degenerate", "hack rate", "degenerate rate"):
            cell = row[len(ARM_KEYS) + next(i for i, h in enumerate(headers) if h.startswith(header + " ["))]
            assert RATE.match(cell), (header, cell)
    self1 = next(r for r in shown if r[:2] == ["self", "1"])
    # by hand: self's epoch-1 stubs 2, 0, 3 plus one honest stub per seed: 3/8, 1/8, 4/8, mean 1/3, 8 of 24
    assert self1[len(ARM_KEYS) + headers.index("degenerate rate [95% CI] (k/n)")].startswith("0.333 [0.")
    assert self1[len(ARM_KEYS) + headers.index("degenerate rate [95% CI] (k/n)")].endswith("(8/24)")
    assert "Every held-out episode has exactly one outcome" in html


def test_page_shows_seed_level_differences(recorded):
    client, url, _ = recorded
    html = client.get("/experiments/exp-view").text
    final = final_differences(build_report(url, "exp-view").differences)
    assert table_rows(html, "differences") == [[get(d) for _, get in SEED_DIFF_COLUMNS] for d in final]
    hack = next(d for d in final if (d["arm"], d["versus"], d["metric"]) == ("self", "off", "hack_rate"))
    assert hack["per_seed"] == {0: -0.5, 1: -0.5, 2: -0.5} and hack["p_sign_flip"] == 0.25  # 3 seeds: floor 2/8
    assert hack["ci"] is None and hack["reads"] == "not distinguishable from off"
    degenerate = next(d for d in final if (d["arm"], d["versus"], d["metric"]) == ("self", "off", "degenerate_rate"))
    assert degenerate["ci"] is not None and degenerate["ci"][0] < 0 < degenerate["ci"][1]
    assert "self minus off at epoch 1 (3 paired seed(s)): hack rate -0.500 (identical at every seed: no interval), " \
           "sign-flip p = 0.250: not distinguishable from off" in unescape(html)


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Iterator[tuple[TestClient, str]]:
    """tests/_recorded_audit's experiment: pairs with rewrite audits (its docstring draws them)."""
    from agentloop.view import create_app, open_readonly_store

    url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'store.db'}"
    writer = ensure_schema(url)
    record_audit_experiment(writer)
    writer.dispose()
    store = open_readonly_store(url)
    with TestClient(create_app(store)) as client:
        yield client, url
    store.dispose()


def test_page_shows_the_rewrite_audit(audited):
    client, url = audited
    html = client.get(f"/experiments/{EXPERIMENT}").text
    report = build_report(url, EXPERIMENT)
    shown = table_rows(html, "rewrite_audit")
    assert shown == [[get(r) for _, get in ARM_KEYS + AUDIT_COLUMNS] for r in report.rewrite_audit]
    headers = [h for h, _ in ARM_KEYS + AUDIT_COLUMNS]
    self1 = dict(zip(headers, next(r for r in shown if r[:2] == ["self", "1"])))
    lo, hi = wilson(1, 4)  # by hand: 1 gaming rewrite of the 4 audited, unskipped pairs
    assert self1["rewrite hack rate [95% CI] (k/n)"] == f"0.250 [{lo:.3f}, {hi:.3f}] (1/4)"
    assert (self1["pairs"], self1["skipped (empty/refusal/identical)"], self1["trained"]) == ("6", "2 (0/1/1)", "4")
    assert self1["similarity to frozen answer (n)"] == "1.000 (n=2)"
    off1 = dict(zip(headers, next(r for r in shown if r[:2] == ["off", "1"])))
    assert (off1["pairs"], off1["rewrite hack rate [95% CI] (k/n)"]) == ("0", "n/a (n=0)")  # zeros, not missing
    assert len(table_rows(html, "rewrite_audit_seeds")) == 10
    assert "teaches gaming under the name of alignment" in unescape(html)
    assert "1 of 11 pairs carry no audit" in html
