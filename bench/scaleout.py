"""Scale-out: episodes/hour with 1, 2 and 3 runner processes against two vLLM servers vs one.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/scaleout.py \\
        [--episodes 6] [--turns 1] [--max-tokens 32] [--batch-size 1] [--runners 1,2,3] [--servers 1,2] [--repeats 1]

One script run, one process tree, the docs/scale-out.md shape on one machine: a throwaway
PostgreSQL cluster (tests/_postgres.py) and two real vLLM OpenAI servers on 127.0.0.1 on the
embedded model (tests/_vllm_server.py), started once and reused by every cell; by default each
server's OpenMP threads are bound to its own core (`--no-bind`: both on all cores), the CPU
stand-in for one accelerator per server.

Cells: runners x servers (default 3 x 2). Each cell gets a fresh database and the same tiny
scenario (N episodes x T turns, max_tokens, conscience observe, learner off); the first
`agentloop run --backend openai --base-url ...` process creates the run and the others `--join` it
(a 1-server cell passes only the first server's URL). Every server's prefix cache is reset before
each cell, so no cell reuses another's prompts; the cell order alternates between repeats.

Measured per cell: wall time from the first runner's start until every runner process has exited,
finished episodes counted in the database, episodes/hour = finished / wall * 3600 (median over
repeats); beside it, "in episodes": the same count over the span from the first episode's
`started_at` to the last one's `finished_at` (the runners' start-up and exit left out). Ratios: the scaling ratio eps/h(N runners) / eps/h(1 runner) per server count, and
2 servers / 1 server per runner count; the baseline (1 runner, 1 server) is measured in the same
run. Each cell is checked: every episode done exactly once, turns 0..k-1 stored once per episode
(one turn each with --turns 1), the run marked done, every runner exited 0 with a `done` summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from _table import print_table
from agentloop.core.paths import repo_root

sys.path.insert(0, str(repo_root() / "tests"))  # the suite's PostgreSQL and vLLM-server starters, its tiny scenario
import _postgres  # noqa: E402
from _tiny_scenario import tiny_scenario  # noqa: E402
from _vllm_server import VLLMServer  # noqa: E402

log = logging.getLogger("bench.scaleout")


def int_list(value: str) -> list[int]:
    return sorted({int(v) for v in value.split(",") if v.strip()})


def start_servers(model_path: str, count: int, bind: bool, log_dir: Path) -> list[VLLMServer]:
    """`count` servers started together, each bound to its own core when `bind`; a warm-up request each."""
    import pytest  # _vllm_server reports a failed start with pytest.fail

    # dev mode for POST /reset_prefix_cache (server_env copies our environment)
    os.environ["VLLM_SERVER_DEV_MODE"] = "1"
    ncpu = os.cpu_count() or 1
    servers = [VLLMServer(model_path, log_dir, cpus=str(i % ncpu) if bind else None) for i in range(count)]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
            httpx.post(f"{server.url}/completions", timeout=120,
                       json={"model": model_path, "prompt": "Say hi.", "max_tokens": 4}).raise_for_status()
    except pytest.fail.Exception as exc:
        stop_servers(servers)
        raise SystemExit(f"a vLLM server did not start: {exc}") from None
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: list[VLLMServer]) -> None:
    for server in servers:
        server.stop()


def reset_prefix_caches(servers: list[VLLMServer]) -> None:
    for server in servers:
        root = server.url.removesuffix("/v1")
        httpx.post(f"{root}/reset_prefix_cache", timeout=30).raise_for_status()


def run_cell(socket_dir: Path, servers: list[VLLMServer], n_runners: int, n_servers: int, args: argparse.Namespace,
             tmp: Path, label: str) -> dict[str, object]:
    """One cell: a fresh database, `n_runners` runner processes on the first `n_servers` servers."""
    cell_dir = tmp / label
    cell_dir.mkdir()
    scenario = cell_dir / "scenario.yaml"
    scenario.write_text(tiny_scenario("scaleout-bench", args.episodes, args.turns, args.batch_size, args.max_tokens))
    url = _postgres.create_database(socket_dir, "psycopg")
    db = create_engine(url)
    urls = [arg for s in servers[:n_servers] for arg in ("--base-url", s.url)]
    env = {**os.environ, "AGENTLOOP_NO_PRELOAD": "1"}
    reset_prefix_caches(servers)

    procs: list[subprocess.Popen] = []
    logs: list[Path] = []

    def rows(sql: str) -> list[tuple]:
        with db.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    def start(*extra: str) -> None:
        path = cell_dir / f"runner{len(procs)}.log"
        logs.append(path)
        with path.open("w") as err:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "agentloop.cli", "run", str(scenario), "--db", url,
                 "--workdir", str(cell_dir / "runs"), "--json", "--backend", "openai", *urls, *extra],
                env=env, stdout=subprocess.PIPE, stderr=err, text=True))

    def fail(what: str, i: int = 0) -> None:
        raise SystemExit(f"{label}: {what}\n--- runner{i} log tail ---\n{logs[i].read_text()[-3000:]}")

    t0 = time.monotonic()
    try:
        start()
        while not has_run(rows):
            if procs[0].poll() is not None:
                fail(f"the first runner exited with {procs[0].returncode} before creating its run")
            if time.monotonic() - t0 > 300:
                fail("the first runner never created its run")
            time.sleep(0.1)
        run_id = rows("select id from runs")[0][0]
        for _ in range(n_runners - 1):
            start("--join", str(run_id))
        outputs = [p.communicate(timeout=args.cell_timeout)[0] for p in procs]
        wall = time.monotonic() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    for i, (p, out) in enumerate(zip(procs, outputs)):
        if p.returncode != 0:
            fail(f"runner {i} exited with {p.returncode}", i)
        try:
            status = json.loads(out)["status"]
        except (ValueError, KeyError):
            fail(f"runner {i} printed no JSON summary: {out[-500:]!r}", i)
        if status != "done":
            fail(f"runner {i} ended with status {status!r}", i)

    episodes = rows(f'select id, status, claimed_by from episodes where run_id = {run_id} order by "index"')
    turns = rows('select episode_id, "index" from turns')
    done = [e for e, s, _ in episodes if s == "done"]
    check(label, len(episodes) == args.episodes, f"{len(episodes)} episodes stored, {args.episodes} planned")
    check(label, len(done) == len(episodes), f"episode statuses {sorted(s for _, s, _ in episodes)}")
    by_episode: dict[int, list[int]] = {e: [] for e, _, _ in episodes}
    for episode_id, index in turns:
        check(label, episode_id in by_episode, f"a turn of an unknown episode {episode_id}")
        by_episode[episode_id].append(index)
    for episode_id, indexes in by_episode.items():
        check(label, sorted(indexes) == list(range(len(indexes))) and 1 <= len(indexes) <= args.turns,
              f"episode {episode_id} stored turns {sorted(indexes)} (want 0..k-1 once each, k <= {args.turns})")
    if args.turns == 1:
        check(label, len(turns) == len(episodes), f"{len(turns)} turns for {len(episodes)} episodes")
    check(label, rows(f"select status from runs where id = {run_id}") == [("done",)], "the run is not marked done")
    first_start, last_finish = rows(f"select min(started_at), max(finished_at) from episodes where run_id = {run_id}")[0]
    span = (last_finish - first_start).total_seconds()
    per_worker: dict[str, int] = {}
    for _, _, worker in episodes:
        per_worker[worker] = per_worker.get(worker, 0) + 1
    db.dispose()
    out = {"label": label, "runners": n_runners, "servers": n_servers, "episodes": len(done), "turns": len(turns),
           "wall_s": wall, "eph": 3600 * len(done) / wall,
           "span_s": span, "eph_span": 3600 * len(done) / span, "per_runner": sorted(per_worker.values(), reverse=True)}
    log.warning("%s: %d episodes in %.1fs = %.0f eps/h (%.1fs from the first episode's start to the last's end; "
                "episodes per runner %s)", label, len(done), wall, out["eph"], span, out["per_runner"])
    return out


def check(label: str, ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"{label}: check failed: {what}")


def has_run(rows) -> bool:
    try:
        return bool(rows("select 1 from runs limit 1"))
    except Exception:  # the first runner has not created the schema yet
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=6, help="episodes per cell (one run)")
    parser.add_argument("--turns", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=32, help="policy and rewrite max_tokens")
    parser.add_argument("--batch-size", type=int, default=1, help="episodes per runner wave")
    parser.add_argument("--runners", type=int_list, default=[1, 2, 3], help="runner process counts, e.g. 1,2,3")
    parser.add_argument("--servers", type=int_list, default=[1, 2], help="server counts, e.g. 1,2")
    parser.add_argument("--repeats", type=int, default=1, help="passes over all cells, order alternating")
    parser.add_argument("--bind", action=argparse.BooleanOptionalAction, default=True,
                        help="bind each server's threads to its own core (default) or let all share all cores")
    parser.add_argument("--cell-timeout", type=float, default=1800, help="seconds before a cell's runners are killed")
    parser.add_argument("--json", action="store_true", help="print the per-cell numbers as JSON too")
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("AGENTLOOP_LOG", "WARNING"), format="%(name)s %(message)s")
    if (why := _postgres.missing()) is not None:
        raise SystemExit(why)

    from agentloop.model import prepare_embedded

    model_path = str(prepare_embedded())
    cells = [(r, s) for s in args.servers for r in args.runners]
    results: dict[tuple[int, int], list[dict[str, object]]] = {cell: [] for cell in cells}
    t_all = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp_name, _postgres.cluster() as socket_dir:
        tmp = Path(tmp_name)
        t0 = time.monotonic()
        servers = start_servers(model_path, max(args.servers), args.bind, tmp)
        log.warning("%d vLLM servers ready in %.1fs", len(servers), time.monotonic() - t0)
        try:
            for rep in range(args.repeats):
                for n_runners, n_servers in cells if rep % 2 == 0 else cells[::-1]:
                    label = f"r{n_runners}-s{n_servers}-{rep}"
                    results[(n_runners, n_servers)].append(
                        run_cell(socket_dir, servers, n_runners, n_servers, args, tmp, label))
        finally:
            stop_servers(servers)

    eph = {cell: statistics.median(x["eph"] for x in xs) for cell, xs in results.items()}
    eph_span = {cell: statistics.median(x["eph_span"] for x in xs) for cell, xs in results.items()}
    wall = {cell: statistics.median(x["wall_s"] for x in xs) for cell, xs in results.items()}
    span = {cell: statistics.median(x["span_s"] for x in xs) for cell, xs in results.items()}
    base = eph.get((1, 1))
    rows = [
        ("episodes x turns (per cell)", f"{args.episodes} x {args.turns}, max_tokens {args.max_tokens}, "
                                        f"batch_size {args.batch_size}, conscience observe, median of {args.repeats}"),
        ("servers", f"vLLM OpenAI, embedded model, "
                    f"{'one core each' if args.bind else 'all sharing all cores'}; {os.cpu_count()} cores in all"),
    ]
    for n_runners, n_servers in cells:
        first = results[(n_runners, n_servers)][0]
        rows.append((f"{n_runners} runner(s), {n_servers} server(s): eps/h",
                     f"{eph[(n_runners, n_servers)]:.0f}  ({wall[(n_runners, n_servers)]:.1f}s wall; in episodes "
                     f"{span[(n_runners, n_servers)]:.1f}s = {eph_span[(n_runners, n_servers)]:.0f} eps/h; "
                     f"episodes per runner {'/'.join(map(str, first['per_runner']))})"))
    for n_servers in args.servers:
        if 1 in args.runners:
            for n_runners in args.runners:
                if n_runners != 1:
                    rows.append((f"scaling, {n_servers} server(s): {n_runners} runners / 1 runner",
                                 f"{eph[(n_runners, n_servers)] / eph[(1, n_servers)]:.2f}x  (in episodes "
                                 f"{eph_span[(n_runners, n_servers)] / eph_span[(1, n_servers)]:.2f}x)"))
    if 1 in args.servers:
        for n_servers in args.servers:
            if n_servers != 1:
                for n_runners in args.runners:
                    rows.append((f"{n_runners} runner(s): {n_servers} servers / 1 server",
                                 f"{eph[(n_runners, n_servers)] / eph[(n_runners, 1)]:.2f}x  (in episodes "
                                 f"{eph_span[(n_runners, n_servers)] / eph_span[(n_runners, 1)]:.2f}x)"))
    if base:
        best = max(eph, key=eph.get)
        rows.append(("best cell / baseline (1 runner, 1 server)",
                     f"{eph[best] / base:.2f}x ({best[0]} runner(s), {best[1]} server(s))"))
    rows.append(("bench wall (servers' start included)", f"{time.monotonic() - t_all:.0f}s"))
    print_table(rows)
    if args.json:
        print(json.dumps([x for xs in results.values() for x in xs], indent=1))


if __name__ == "__main__":
    main()
