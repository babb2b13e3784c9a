"""`agentloop view` on the store of a real `agentloop run scenarios/smoke.yaml` (embedded model, vLLM,
sandbox, conscience): every stored turn shows on its episode page as the store holds it.

The expected values come from plain SQL on the run's SQLite file, not from the viewer's queries.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest

pytestmark = pytest.mark.model


def rows(db: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        con.row_factory = sqlite3.Row
        return con.execute(sql, args).fetchall()


@pytest.fixture(scope="module")
def real(smoke_run) -> Iterator[tuple[int, Path, object]]:
    """(run id, store path, TestClient) on the session's smoke run."""
    from starlette.testclient import TestClient

    from agentloop.view import create_app, open_readonly_store

    result, db = smoke_run
    store = open_readonly_store(f"sqlite:///{db}")
    with TestClient(create_app(store)) as client:
        yield result.run_id, db, client
    store.dispose()


def turn_sections(html: str) -> dict[str, str]:
    """Each `<section class="turn">` of an episode page by its id."""
    parts = html.split('<section class="turn" id="')[1:]
    return {part.split('"', 1)[0]: part.split("</section>", 1)[0] for part in parts}


def test_runs_page_lists_the_run(real):
    run_id, db, client = real
    (run,) = rows(db, "select name, model, status from runs where id = ?", run_id)
    (n_turns,) = rows(db, "select count(*) from turns")[0]
    html = client.get("/").text
    runs_table = html[html.index('<table class="runs">'):]  # the retention table above links runs too
    line = next(tr for tr in runs_table.split("<tr>") if f'href="/runs/{run_id}"' in tr)
    assert run["status"] == "done" and f">{run['status']}<" in line and "smoke" in line
    assert f"<code>{escape(run['model'])}</code>" in line
    assert '<td class="num">2</td>' in line and f'<td class="num">{n_turns}</td>' in line


def test_run_page_lists_episodes_with_verdicts_findings_and_adapter(real):
    run_id, db, client = real
    html = client.get(f"/runs/{run_id}").text
    episodes = rows(db, "select id, \"index\" from episodes where run_id = ? order by \"index\"", run_id)
    assert [int(n) for n in re.findall(rf'href="/runs/{run_id}/episodes/(\d+)"', html)] == [e["index"] for e in episodes]
    body = html[html.index('<table class="episodes">'):]
    for ep in episodes:
        line = next(tr for tr in body.split("<tr>") if f'href="/runs/{run_id}/episodes/{ep["index"]}"' in tr)
        for label, n in rows(db, "select v.label, count(*) from verdicts v join turns t on t.id = v.turn_id "
                                 "where t.episode_id = ? group by v.label", ep["id"]):
            assert f'<span class="badge v-{label}">{label}</span>×{n}' in line, (ep["index"], label)
        for (rule,) in rows(db, "select distinct f.rule from findings f join turns t on t.id = f.turn_id "
                                "where t.episode_id = ?", ep["id"]):
            assert f'<code class="rule">{rule}</code>' in line, rule
        assert "<td>base</td>" in line, "no learner: every turn on the base model"


def test_episode_pages_show_every_real_turn(real):
    run_id, db, client = real
    episodes = rows(db, "select id, \"index\" from episodes where run_id = ?", run_id)
    n_rewrites = 0
    for ep in episodes:
        html = client.get(f"/runs/{run_id}/episodes/{ep['index']}").text
        turns = rows(db, "select t.id, t.\"index\" as k, t.code, t.adapter_version, v.label, v.p_ethical, v.p_neutral, "
                         "v.p_unethical, v.framework, v.rewrite from turns t left join verdicts v on v.turn_id = t.id "
                         "where t.episode_id = ? order by t.\"index\"", ep["id"])
        sections = turn_sections(html)
        # stable anchors: one per turn, named by its index in the episode (not by a database id)
        assert list(sections) == [f"turn-{t['k']}" for t in turns]
        for t in turns:
            sec, anchor = sections[f"turn-{t['k']}"], f"turn-{t['k']}"
            assert f'href="#{anchor}"' in html and f'<a class="anchor" href="#{anchor}">Turn {t["k"]}</a>' in sec
            assert t["label"] is not None, "observe mode judges every turn"
            probs = (t["p_ethical"], t["p_neutral"], t["p_unethical"])
            assert re.search(rf'<span class="badge v-{t["label"]}" title="P\(ethical\) {probs[0]:.2f} '
                             rf'· P\(neutral\) {probs[1]:.2f} · P\(unethical\) {probs[2]:.2f} · {t["framework"]}">', sec)
            assert [f"{p:.3f}" for p in probs] == re.findall(r'</meter> <span class="num">([\d.]+)</span>', sec)
            assert f"framework {t['framework']}" in sec
            assert ("adapter base" if t["adapter_version"] is None else f"adapter v{t['adapter_version']}") in sec
            if t["code"]:
                assert 'class="codeblock"' in sec
            for f in rows(db, "select rule, line, message from findings where turn_id = ?", t["id"]):
                assert f'<code class="rule">{f["rule"]}</code>' in sec and escape(f["message"]) in sec
                if f["line"]:
                    assert f'href="#{anchor}-L-{f["line"]}"' in sec
            if not rows(db, "select 1 from findings where turn_id = ?", t["id"]):
                assert "no detector findings" in sec
            if t["rewrite"]:
                n_rewrites += 1
                assert '<pre class="diff">' in sec
    assert rows(db, "select count(*) from verdicts where rewrite is not null")[0][0] == n_rewrites


def test_search_links_to_the_turn_anchor(real):
    run_id, db, client = real
    turn = rows(db, "select e.\"index\" as ep, t.\"index\" as k, t.answer from turns t join episodes e "
                    "on e.id = t.episode_id where e.run_id = ? order by t.id limit 1", run_id)[0]
    word = re.search(r"[A-Za-z]{4,}", turn["answer"])
    assert word, turn["answer"]
    html = client.get("/search", params={"q": word.group(0), "run": run_id, "limit": 500}).text
    link = f'href="/runs/{run_id}/episodes/{turn["ep"]}#turn-{turn["k"]}"'
    assert link in html, (word.group(0), html[:2000])
    # the anchor it names exists on that page
    assert f'id="turn-{turn["k"]}"' in client.get(f"/runs/{run_id}/episodes/{turn['ep']}").text
