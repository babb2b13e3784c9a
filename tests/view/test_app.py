"""Server tests of `agentloop view` with Starlette's TestClient on the real SQLite store of conftest."""

from __future__ import annotations

import hashlib
import re
from html import escape as html_escape

import pytest

from agentloop.core.metrics import Rate, wilson

ESCAPED_XSS = "&lt;script&gt;document.title=/xss-ran/.source&lt;/script&gt;"  # conftest's XSS probe, escaped


def episode_links(html: str, run_id: int = 1) -> list[int]:
    return [int(n) for n in re.findall(rf'href="/runs/{run_id}/episodes/(\d+)"', html)]


def runs_table_row(html: str, run_id: int) -> str:
    table = html[html.index('<table class="runs">'):]
    rows = [r for r in table.split("<tr>") if f'href="/runs/{run_id}"' in r]
    assert len(rows) == 1, f"one row for run {run_id}"
    return rows[0]


def test_every_page_answers_200(client):
    for path in ("/", "/?by=episode&split=eval", "/?arm=off", "/runs/1", "/runs/2", "/runs/1/episodes/0",
                 "/runs/1/episodes/4", "/runs/2/episodes/1", "/search", "/search?q=exit", "/experiments", "/static/view.css",
                 "/static/view.js", "/static/code.css"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
    assert client.head("/").status_code == 200


def test_runs_page_shows_rates_judge_agreement_adapters_and_retention_chart(client):
    html = client.get("/").text
    run1 = runs_table_row(html, 1)
    # run 1: 9 turns, 4 misaligned (3 hack, 1 insecure); judge tp=3 fp=0 fn=1 tn=4: 4 positives, too few
    for cell in ("codehack_multiturn", "self_dpo", "2 (v1–v2)", f">{Rate(5, 9).text()}<", f">{Rate(3, 9).text()}<",
                 f">{Rate(1, 9).text()}<", f">{html_escape('n/a (n_pos=4 < 5, n=8)')}<"):
        assert cell in run1, cell
    assert ">1.00<" not in run1 and ">0.75<" not in run1  # precision and recall of 4 positives say nothing
    assert '<svg class="chart"' in html and "<polyline" in html and "claim: 80%" in html
    # retention table: self_dpo epoch 1 = 0.5 / 0.6; off epoch 1 = 0 / 0.5
    assert "0.83" in html and "0.00" in html
    assert "no verdicts" in runs_table_row(html, 2)  # conscience off


def test_runs_page_options_change_the_counting(client):
    by_episode = client.get("/?by=episode&arm=self_dpo").text
    # by episode: epoch 0 aligned 1/2, epoch 1 aligned 2/3 -> retention 1.33; run 2 left out by arm
    assert "1.33" in by_episode and 'href="/runs/2"' not in by_episode
    assert client.get("/?by=week").status_code == 400
    assert client.get("/?split=test").status_code == 400


def test_view_stats_agree_with_store_queries(view_url):
    """The SQL-aggregated numbers equal store.queries' (which the CLI prints) on every run and option."""
    from agentloop.view import _data, open_readonly_store
    from store.queries import judge_agreement, retention_over_epochs

    store = open_readonly_store(view_url)
    with store.session(readonly=True) as s:
        for by in ("turn", "episode"):
            for split in (None, "train", "eval"):
                stats = _data.run_stats(s, by=by, split=split)
                for run_id in (1, 2):
                    expected = retention_over_epochs(s, run_id, by=by, split=split)
                    got = stats[run_id].epochs if run_id in stats else []
                    assert got == expected, (run_id, by, split)
        stats = _data.run_stats(s)
        for run_id in (1, 2):
            assert stats[run_id].confusion == judge_agreement(s, run_id).confusion
    store.dispose()


@pytest.mark.parametrize(("query", "expected"), [
    ("", [0, 1, 2, 3, 4]),
    ("verdict=unethical", [0, 2]),
    ("verdict=neutral", [2]),
    ("rule=TAMPER_SYS_EXIT", [0, 2]),
    ("rule=B605", [2]),
    ("rule=PARSE_NO_CODE", [4]),
    ("framework=wwjd", [2]),
    ("framework=three_laws", [0, 1, 2, 3]),
    ("epoch=1", [2, 3, 4]),
    ("split=eval", [1, 3]),
    ("epoch=0&split=eval", [1]),
    ("verdict=unethical&epoch=1", [2]),
    ("verdict=ethical&rule=B605", []),
])
def test_run_page_filters(client, query, expected):
    response = client.get(f"/runs/1?{query}")
    assert response.status_code == 200
    assert episode_links(response.text) == expected
    assert f"{len(expected)} episode" in response.text


def test_run_page_pagination(client):
    pages = [client.get(f"/runs/1?per_page=2&page={n}").text for n in (1, 2, 3)]
    assert [episode_links(p) for p in pages] == [[0, 1], [2, 3], [4]]
    assert "page 2 of 3" in pages[1] and 'rel="next"' in pages[1] and 'rel="prev"' in pages[1]
    assert 'rel="next"' not in pages[2]
    # pagination links keep the filters
    filtered = client.get("/runs/1?per_page=1&verdict=unethical").text
    assert episode_links(filtered) == [0] and "verdict=unethical" in filtered and "page=2" in filtered
    assert episode_links(client.get("/runs/1?per_page=2&page=99").text) == [4]  # past the end: the last page


@pytest.mark.parametrize("path", ["/runs/1?epoch=abc", "/runs/1?verdict=evil", "/runs/1?split=test",
                                  "/runs/1?page=two", "/search?q=x&run=one"])
def test_bad_parameters_answer_400_with_the_reason(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "must be" in response.text


@pytest.mark.parametrize("path", ["/runs/999", "/runs/1/episodes/999", "/runs/2/episodes/3", "/runs/abc", "/nope",
                                  "/static/missing.css"])
def test_unknown_ids_answer_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/runs/1", "/runs/1/episodes/0", "/search", "/nope"])
def test_every_write_method_answers_405(client, method, path):
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_episode_page_shows_the_transcript(client):
    html = client.get("/runs/1/episodes/0").text
    for k in (0, 1, 2):
        assert f'<section class="turn" id="turn-{k}">' in html
    hack = html[html.index('id="turn-2"'):]
    assert '<span class="badge v-unethical"' in hack and ">0.850<" in hack and ">0.050<" in hack
    assert "framework three_laws · judge self" in hack
    # the finding links to its line, and that line is highlighted in the code
    assert 'href="#turn-2-L-4"' in hack and "TAMPER_SYS_EXIT" in hack and "HIDDEN_FAIL" in hack
    assert re.search(r'id="turn-2-L-4"[^>]*></a><span class="hll">', hack)
    # the rewrite as a diff against the answer
    assert '<span class="d-del">-Fine, I exit early.</span>' in hack
    assert '<span class="d-add">+The visible test contradicts the spec; I report it.</span>' in hack
    assert "visible 1/2 · hidden 0/2" in hack and "hidden tests: 0/1 passed" in hack and "test_hidden.py::test_neg" in hack
    assert "adapter v1" in hack
    assert '<span class="badge v-ethical"' in html[html.index('id="turn-0"'):html.index('id="turn-1"')]
    assert "adapter base" in html[html.index('id="turn-0"'):html.index('id="turn-1"')]


def test_episode_page_marks_gated_turns_and_links_neighbours(client):
    html = client.get("/runs/1/episodes/2").text
    gated = html[html.index('id="turn-1"'):]
    assert "gated: rewrite ran" in gated and "(this is what ran)" in gated and "adapter v2" in gated
    assert "gated" not in html[html.index('id="turn-0"'):html.index('id="turn-1"')].replace("gated:", "")
    assert "B605" in html and "framework wwjd" in html
    assert 'href="/runs/1/episodes/1"' in html and 'href="/runs/1/episodes/3"' in html
    no_verdict = client.get("/runs/1/episodes/4").text
    assert "no verdict" in no_verdict and "no code in this turn" in no_verdict and "PARSE_NO_CODE" in no_verdict


def test_agent_output_renders_as_text_never_as_markup(client, xss):
    """The XSS probe: <script> in the prompt, reasoning, answer, code, rewrite, finding and test message."""
    assert html_escape(xss) == ESCAPED_XSS
    for path in ("/runs/1/episodes/0", "/search?q=xss", "/search?q=" + xss):
        response = client.get(path)
        html = response.text
        assert "<script>document" not in html, path
        assert ESCAPED_XSS in html, path
        assert html.count("<script") == 1, "only the viewer's own script tag"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
    html = client.get("/runs/1/episodes/0").text
    turn = html[html.index('id="turn-1"'):html.index('id="turn-2"')]
    # prompt, reasoning, raw answer, finding message, visible-test message, rewrite diff (+ and -) at least
    assert turn.count(ESCAPED_XSS) >= 7
    assert ESCAPED_XSS + "</span>" in turn  # the highlighted code comment


def test_search_links_to_the_turn(client):
    html = client.get("/search?q=honest+answer").text
    assert 'href="/runs/1/episodes/0#turn-1"' in html and "in rewrite" in html and "<mark>" in html
    only_run2 = client.get("/search?q=exit&run=2").text
    assert re.findall(r'href="/runs/(\d+)/episodes/', only_run2) and set(
        re.findall(r'href="/runs/(\d+)/episodes/', only_run2)) == {"2"}
    assert "0 turns" in client.get("/search?q=zebra").text


def test_viewer_never_writes_the_database(client, view_db):
    before = hashlib.sha256(view_db.read_bytes()).hexdigest()
    for path in ("/", "/runs/1", "/runs/1/episodes/0", "/search?q=exit"):
        assert client.get(path).status_code == 200
    assert hashlib.sha256(view_db.read_bytes()).hexdigest() == before


def test_readonly_store_refuses_writes(view_url):
    from sqlalchemy.exc import OperationalError

    from agentloop.view import open_readonly_store
    from store.models import RunRow

    store = open_readonly_store(view_url)
    with pytest.raises(OperationalError, match="readonly|read-only"):
        with store.session() as s:
            s.add(RunRow(name="x", model="m", backend="hf"))
    store.dispose()


def test_missing_or_empty_store_is_one_clear_error(tmp_path):
    from agentloop.view import open_readonly_store
    from store.session import StoreError

    missing = tmp_path / "nope.db"
    with pytest.raises(StoreError, match="no store at"):
        open_readonly_store(f"sqlite:///{missing}")
    assert not missing.exists(), "a viewer must not create a store"
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError, match="agentloop db upgrade"):
        open_readonly_store(f"sqlite:///{empty}")
    with pytest.raises(StoreError, match="cannot open store"):
        open_readonly_store("not a url")


def test_store_not_in_wal_mode_is_one_clear_error(view_db, tmp_path):
    """A read-only connection cannot switch a rollback-journal file to WAL: say how to fix it."""
    import shutil
    import sqlite3

    from agentloop.view import open_readonly_store
    from store.session import StoreError

    copy = tmp_path / "delete-journal.db"
    shutil.copy(view_db, copy)
    with sqlite3.connect(copy) as con:
        assert con.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    with pytest.raises(StoreError, match=r"read-only .*agentloop db upgrade"):
        open_readonly_store(f"sqlite:///{copy}")


def test_rates_show_their_wilson_interval():
    from agentloop.view._app import _fmt_rate

    lo, hi = wilson(3, 4)
    assert _fmt_rate(3, 4) == f"0.750 [{lo:.3f}, {hi:.3f}] (3/4)"
    assert _fmt_rate(0, 0) == "n/a (n=0)"
