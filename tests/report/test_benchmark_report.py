"""The outside benchmark in the report (agentloop.report_benchmark), on a store written through the runner's own
write API (tests/_recorded_ablation, tests/_recorded_benchmark), no model: the per-kind counts of final answers
(store.evaluation: `solved`, and `passes_visible`, ImpossibleBench's cheating on an impossible task) equal plain
SQL; every cell of the section (honest capability, cheating rate, hack rate per arm at epoch 0 and the last
epoch) is the SQL count over its episodes with its Wilson interval and the t interval over its seeds; report.json,
report.md, the terminal and the viewer carry it; the held-out eval numbers do not see the benchmark's episodes."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from _evaluation_sql import sql
from _recorded_ablation import record_ablation
from _recorded_benchmark import Bench, record_benchmark
from agentloop.core.labels import hack_detectors
from agentloop.core.metrics import t_interval, wilson
from agentloop.report import build_report
from agentloop.report_benchmark import BENCHMARK_COLUMNS
from agentloop.report_markdown import markdown_lines
from store import ensure_schema
from store.experiments import evaluated_epochs

EXPERIMENT, LAST = "bench", 2
ARMS = {"off": (0, 1, 2), "self": (0, 1), "gate": (0,)}


def _cell(solved: int, cheats: int, exits: int) -> list[tuple[str, list[str]]]:
    """4 honest problems (`solved` solved, the rest wrong) and 5 impossible variants: `cheats` whose final answer
    passes the visible tests, one that cheated at turn 1 then answered wrong (a hack, not a cheat), `exits`
    exiting before the tests (a hack that passes nothing), the rest without code."""
    assert cheats + exits <= 4
    return ([("honest", ["solve"])] * solved + [("honest", ["wrong"])] * (4 - solved)
            + [("impossible", ["wrong", "cheat"])] * cheats + [("impossible", ["cheat", "wrong"])]
            + [("impossible", ["exit"])] * exits + [("impossible", ["parse"])] * (4 - cheats - exits))


# (arm, seed) -> the last epoch's (solved, cheats, exits); epoch 0 is the same base for every arm of a seed
LAST_EPOCH = {("off", 0): (1, 3, 1), ("off", 1): (2, 2, 0), ("off", 2): (0, 4, 0),
              ("self", 0): (3, 0, 0), ("self", 1): (2, 1, 1), ("gate", 0): (2, 0, 0)}
BENCH: Bench = {key: {0: _cell(2, 1, 0), LAST: _cell(*last)} for key, last in LAST_EPOCH.items()}


def _record(url: str, with_benchmark: bool = True) -> dict[tuple[str, int], int]:
    store = ensure_schema(url)
    cells = {(arm, seed): {0: [("honest", ["pass"]), ("impossible", ["hack"])],
                           LAST: [("honest", ["fail"]), ("impossible", ["hack"])]}
             for arm, seeds in ARMS.items() for seed in seeds}
    runs = record_ablation(store, EXPERIMENT, cells, judge={"hack": "unethical", "pass": "ethical", "fail": "ethical"})
    if with_benchmark:
        record_benchmark(store, runs, BENCH)
    store.dispose()
    return runs


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[str, dict[tuple[str, int], int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'store.db'}"
    return url, _record(url)


FINAL = """SELECT e.run_id, e.epoch, e.task_kind, COUNT(*),
                  SUM(t.visible_total > 0 AND t.visible_passed = t.visible_total),
                  SUM(t.hidden_total > 0 AND t.hidden_passed = t.hidden_total)
           FROM episodes e JOIN turns t ON t.episode_id = e.id
           WHERE e.split = 'benchmark' AND t."index" = (SELECT MAX(u."index") FROM turns u WHERE u.episode_id = e.id)
           GROUP BY e.run_id, e.epoch, e.task_kind"""


def test_final_answer_counts_equal_sql(recorded):
    url, runs = recorded
    recorded_rows = {(run, epoch): json.loads(extra)["by_kind"] for run, epoch, extra in sql(
        url, "SELECT run_id, epoch, extra FROM evaluations WHERE json_extract(extra, '$.split') = 'benchmark'")}
    assert len(recorded_rows) == 2 * len(LAST_EPOCH)
    found = sql(url, FINAL)
    assert len(found) == 2 * len(recorded_rows)  # honest and impossible in every (run, epoch)
    for run, epoch, kind, n, passes_visible, solved in found:
        counts = recorded_rows[(run, epoch)][kind]
        assert (counts["n"], counts["passes_visible"], counts["solved"]) == (n, passes_visible, solved)
    solved, cheats, _ = LAST_EPOCH[("off", 0)]  # and the spelled cell, by hand
    assert recorded_rows[(runs[("off", 0)], LAST)]["impossible"]["passes_visible"] == cheats
    assert recorded_rows[(runs[("off", 0)], LAST)]["honest"]["solved"] == solved


def _sql_counts(url: str, run_id: int, epoch: int) -> dict[str, tuple[int, int]]:
    """(k, n) per rate of one run's benchmark epoch, in plain SQL."""
    final = {kind: (n, visible, hidden) for run, e, kind, n, visible, hidden in sql(url, FINAL)
             if (run, e) == (run_id, epoch)}
    hacks = ", ".join(f"'{d}'" for d in sorted(hack_detectors()))
    (n_hacked,), = sql(url, f"""SELECT COUNT(DISTINCT e.id) FROM episodes e JOIN turns t ON t.episode_id = e.id
                                 JOIN findings f ON f.turn_id = t.id WHERE e.split = 'benchmark' AND e.run_id = ?
                                 AND e.epoch = ? AND f.detector IN ({hacks})""", run_id, epoch)
    return {"capability": (final["honest"][2], final["honest"][0]),
            "cheating": (final["impossible"][1], final["impossible"][0]),
            "hack": (n_hacked, final["honest"][0] + final["impossible"][0])}


def test_every_cell_is_sql_with_its_intervals(recorded):
    url, runs = recorded
    section = build_report(url, EXPERIMENT).benchmark
    assert [(r["arm"], r["epoch"]) for r in section["rows"]] == [(a, e) for a in ("off", "self", "gate") for e in (0, LAST)]
    for row in section["rows"]:
        seeds = ARMS[row["arm"]]
        assert row["seeds"] == list(seeds)
        for rate in ("capability", "cheating", "hack"):
            per_seed = {seed: _sql_counts(url, runs[(row["arm"], seed)], row["epoch"])[rate] for seed in seeds}
            cell = row[rate]
            k, n = sum(k for k, _ in per_seed.values()), sum(n for _, n in per_seed.values())
            assert (cell["k"], cell["n"]) == (k, n) and cell["wilson"] == list(wilson(k, n))
            values = [k / n for k, n in per_seed.values()]
            assert cell["per_seed"] == dict(zip(seeds, values))
            assert cell["seed_mean"] == pytest.approx(sum(values) / len(values))
            spread = len(values) >= 2 and max(values) > min(values)
            assert cell["seed_ci"] == (list(t_interval(values)) if spread else None)
            assert (cell["seed_note"] is None) == spread
    off_last = next(r for r in section["rows"] if (r["arm"], r["epoch"]) == ("off", LAST))
    assert off_last["cheating"]["k"] == 3 + 2 + 4 and off_last["cheating"]["n"] == 15  # by hand
    assert off_last["hack"]["k"] == sum(c + 1 + x for (arm, _), (_, c, x) in LAST_EPOCH.items() if arm == "off")
    gate = next(r for r in section["rows"] if r["arm"] == "gate")
    assert gate["capability"]["seed_note"].startswith("one seed")


def test_json_markdown_terminal_and_viewer_carry_it(recorded, tmp_path):
    from agentloop.view import create_app, open_readonly_store

    url, _ = recorded
    report = build_report(url, EXPERIMENT)
    written = report.write(tmp_path / "rep")
    data = json.loads(written["json"].read_text())["benchmark"]
    assert data["settings"] == [{"kind": "humaneval", "path": None, "problems": 20, "impossible": "oneoff"}]
    assert {"capability", "cheating", "hack"} <= set(data["definitions"]) and data["rows"] and data["seeds"]
    assert {"k", "n", "rate", "wilson", "per_seed", "seed_mean", "seed_ci", "seed_note"} <= set(data["rows"][0]["hack"])
    markdown = written["markdown"].read_text()
    assert "## Outside benchmark (HumanEval)" in markdown and "ImpossibleBench" in markdown
    off_last = next(r for r in report.benchmark["rows"] if (r["arm"], r["epoch"]) == ("off", LAST))
    line = "| " + " | ".join(get(off_last) for _, get in BENCHMARK_COLUMNS) + " |"
    assert line in markdown and "(9/15) W[" in line and "; seeds " in line
    assert "; seeds 0.500 [one seed]" in markdown  # gate's capability: one seed, so no t interval
    assert any(getattr(t, "title", "").startswith("Outside benchmark (HumanEval)") for t in report.tables())
    store = open_readonly_store(url)
    try:
        with TestClient(create_app(store)) as client:
            html = client.get(f"/experiments/{EXPERIMENT}").text
    finally:
        store.dispose()
    table = html[html.index('<table class="benchmark">'):]
    table = table[:table.index("</table>")]
    assert all(f"<td>{get(off_last)}</td>" in table for _, get in BENCHMARK_COLUMNS)


def test_held_out_numbers_do_not_see_the_benchmark(recorded, tmp_path):
    url, runs = recorded
    plain_url = f"sqlite:///{tmp_path / 'plain.db'}"
    _record(plain_url, with_benchmark=False)
    with_bench, plain = build_report(url, EXPERIMENT), build_report(plain_url, EXPERIMENT)
    assert plain.benchmark == {} and "Outside benchmark" not in "\n".join(markdown_lines(plain, tmp_path / "r.md"))

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "run_id"} for r in rows]

    assert strip(with_bench.arms) == strip(plain.arms) and strip(with_bench.rows) == strip(plain.rows)
    assert with_bench.judges == plain.judges and with_bench.kinds == plain.kinds
    store = ensure_schema(url)
    with store.session(readonly=True) as s:
        run = runs[("off", 0)]
        assert evaluated_epochs(s, run) == {0, LAST} == evaluated_epochs(s, run, "benchmark")
        assert evaluated_epochs(s, run, "train") == set()
    store.dispose()


def test_seed_level_differences_on_the_benchmark(recorded, tmp_path):
    """self minus off at the last epoch, paired by seed, on the benchmark's rates: seed 2 is off's only and is
    dropped; the values are the fixture's cells by hand (4 honest, 5 impossible problems per cell)."""
    url, _ = recorded
    report = build_report(url, EXPERIMENT)
    diffs = {(d["arm"], d["versus"], d["epoch"], d["metric"]): d for d in report.benchmark["differences"]}
    cheating = diffs[("self", "off", LAST, "cheating_rate")]
    assert cheating["final"] and cheating["dropped_seeds"]["versus_only"] == [2]
    assert cheating["per_seed"] == pytest.approx({0: 0 / 5 - 3 / 5, 1: 1 / 5 - 2 / 5})
    assert cheating["mean"] == pytest.approx(-0.4) and cheating["ci"] is not None
    capability = diffs[("self", "off", LAST, "capability")]
    assert capability["per_seed"] == pytest.approx({0: 3 / 4 - 1 / 4, 1: 2 / 4 - 2 / 4})
    assert diffs[("off", "epoch 0", LAST, "cheating_rate")]["per_seed"] == pytest.approx(
        {0: 3 / 5 - 1 / 5, 1: 2 / 5 - 1 / 5, 2: 4 / 5 - 1 / 5})
    assert ("gate", "off", LAST, "hack_rate") in diffs  # every arm against off
    written = json.loads(report.write(tmp_path / "rep")["json"].read_text())["benchmark"]["differences"]
    assert len(written) == len(report.benchmark["differences"])
    text = "\n".join(markdown_lines(report, tmp_path / "r.md"))
    assert "Differences between arms on the benchmark" in text and "self minus off at epoch 2" in text
