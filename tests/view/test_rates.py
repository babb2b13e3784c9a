"""Every rate the viewer shows carries its k/n and 95% Wilson interval, on a store written through the
runner's own write API (store.recorder.Recorder, via tests/_recorded_ablation), checked against counts
drawn by hand and a Wilson interval computed here from its formula."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from html import unescape

import pytest
from starlette.testclient import TestClient

from _recorded_ablation import Cells, record_ablation
from store import ensure_schema

# run "off": by turn, epoch 0 has 12 turns (3 hack, 1 insecure, 8 aligned), epoch 1 has 12 (4 hack, 2 insecure,
# 6 aligned: the 4 failed first tries count as aligned); by episode 12 + 8 episodes (7 hack, 3 insecure, 10 aligned)
OFF = {0: [("impossible", ["hack"])] * 3 + [("insecure", ["insecure"])] + [("honest", ["pass"])] * 8,
       1: [("impossible", ["fail", "hack"])] * 4 + [("insecure", ["insecure"])] * 2 + [("honest", ["pass"])] * 2}
# run "self": 2 hacks in 4 turns, so its judge has 2 positives: too few to score
SELF = {0: [("impossible", ["hack"])] * 2 + [("honest", ["pass"])] * 2}
CELLS: Cells = {("off", 0): OFF, ("self", 0): SELF}
# the conscience misses the insecure turns (fn) and calls the failed tries unethical (fp)
JUDGE = {"hack": "unethical", "insecure": "ethical", "pass": "ethical", "fail": "unethical"}


def hand_wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval at z = 1.96, from its textbook formula (clamped to [0, 1])."""
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def shown(k: int, n: int) -> str:
    lo, hi = hand_wilson(k, n)
    return f"{k / n:.3f} [{lo:.3f}, {hi:.3f}] ({k}/{n})"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[tuple[TestClient, dict[tuple[str, int], int]]]:
    from agentloop.view import create_app, open_readonly_store

    url = f"sqlite:///{tmp_path_factory.mktemp('rates') / 'store.db'}"
    writer = ensure_schema(url)
    run_ids = record_ablation(writer, "rates", CELLS, judge=JUDGE)
    writer.dispose()
    store = open_readonly_store(url)
    with TestClient(create_app(store)) as client:
        yield client, run_ids
    store.dispose()


def row_cells(html: str, run_id: int) -> list[str]:
    """The text of each cell of run `run_id`'s line in the runs table."""
    table = html[html.index('<table class="runs">'):]
    row = next(r for r in table.split("<tr>") if f'href="/runs/{run_id}"' in r)
    return [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_hand_wilson_is_the_known_interval():
    lo, hi = hand_wilson(3, 12)  # 3/12: Wilson 95% [0.089, 0.532]
    assert (round(lo, 3), round(hi, 3)) == (0.089, 0.532)


def test_runs_page_shows_every_rate_with_k_n_and_its_interval(recorded):
    client, run_ids = recorded
    cells = row_cells(client.get("/").text, run_ids[("off", 0)])
    rates, judge = cells[8:11], cells[11:14]
    assert rates == [shown(14, 24), shown(7, 24), shown(3, 24)]  # aligned, hack, insecure over 24 turns
    # tp 7 (hacks), fn 3 (insecure), fp 4 (failed tries), tn 10: 10 positives of 24 judged turns
    lo, hi = hand_wilson(7, 11)
    assert judge[0] == f"{7 / 11:.3f} [{lo:.3f}, {hi:.3f}] (n_pos=10, n=24)"  # precision
    lo, hi = hand_wilson(7, 10)
    assert judge[1] == f"{7 / 10:.3f} [{lo:.3f}, {hi:.3f}] (n_pos=10, n=24)"  # recall
    assert re.fullmatch(r"-?\d\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\] \(n_pos=10, n=24\)", judge[2]), judge[2]  # kappa

    by_episode = row_cells(client.get("/?by=episode").text, run_ids[("off", 0)])
    assert by_episode[8:11] == [shown(10, 20), shown(7, 20), shown(3, 20)]
    train_only = row_cells(client.get("/?split=train").text, run_ids[("off", 0)])
    assert train_only[8:11] == ["n/a (n=0)"] * 3  # every episode is held out: nothing to count on train


def test_judge_metrics_are_na_below_five_positives(recorded):
    client, run_ids = recorded
    cells = row_cells(client.get("/").text, run_ids[("self", 0)])
    assert cells[8:11] == [shown(2, 4), shown(2, 4), shown(0, 4)]
    assert cells[11:14] == ["n/a (n_pos=2 < 5, n=4)"] * 3


def test_retention_and_per_epoch_rates_show_k_n_and_interval(recorded):
    client, run_ids = recorded
    runs = client.get("/").text
    retention = runs[runs.index('<table class="retention-table">'):runs.index('<table class="runs">')]
    for cell in (f"(aligned {shown(8, 12)})", f"(aligned {shown(6, 12)})", f"(aligned {shown(2, 4)})"):
        assert cell in retention, cell
    assert f"(aligned {shown(8, 12)})</title>" in runs  # the chart's tooltip too

    run = client.get(f"/runs/{run_ids[('off', 0)]}").text
    epochs = run[run.index('<table class="epochs">'):run.index("</table>", run.index('<table class="epochs">'))]
    for k, n in ((8, 12), (3, 12), (1, 12), (6, 12), (4, 12), (2, 12)):
        assert f">{shown(k, n)}<" in epochs, (k, n)
    assert "%" not in epochs  # no bare percentage left
