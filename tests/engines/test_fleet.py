"""The `openai` backend over a fleet of servers (agentloop/engines/fleet.py).

Real part (model, slow): two vLLM OpenAI-compatible servers on 127.0.0.1 started together, each
bound to its own core: requests spread over both, killing one mid-batch loses no request
(outputs equal the single-server greedy ones), an adapter published during the run is on
both servers before the first policy request that uses it, and a restarted server (and one
that was down when an engine started) gets the adapter before it serves that version.
Measured on the 2-core CPU box, lock free: ~3.8 min in all: both servers start in ~35 s,
spread ~38 s, adapter ~56 s and restart ~88 s (LoRA decoding on one core each is the slow part).

Logic part (fast): the same rules against tiny fake HTTP servers (balancing, failover,
re-probe, re-publish after an unnoticed restart, refused adapters, all servers down).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from _vllm_server import VLLMServer, free_port
from agentloop.engines import Engine, make_engine
from agentloop.engines.fleet import Fleet
from agentloop.core.errors import EngineError
from agentloop.core.types import Sampling

PROMPTS = [[{"role": "user", "content": f"Write a Python function that returns {what}."}]
           for what in ("the sum of a list", "the largest of three numbers", "a reversed string",
                        "True for a prime n", "the factorial of n", "the number of vowels in a string",
                        "a list without duplicates", "the n-th Fibonacci number")]
BASE = Sampling(max_tokens=24, temperature=0.0)
POLICY = Sampling(max_tokens=8, temperature=0.0)  # LoRA decoding is slow on CPU: keep it short


# ---------------------------------------------------------------------------------------------
# Real servers
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def servers(embedded_model_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[VLLMServer]]:
    """Two servers started at once, one core each (so they do not fight over the same cores)."""
    log_dir = tmp_path_factory.mktemp("vllm-fleet")
    fleet = [VLLMServer(embedded_model_path, log_dir, cpus=str(i)) for i in range(2)]
    try:
        for server in fleet:
            server.start()
        for server in fleet:
            server.wait_ready()
        yield fleet
    finally:
        for server in fleet:
            server.stop()


@pytest.fixture(scope="module")
def fleet_engine(servers: list[VLLMServer], embedded_model_path: str) -> Iterator[Engine]:
    engine = make_engine("openai", embedded_model_path, base_urls=[s.url for s in servers])
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def reference(servers: list[VLLMServer], embedded_model_path: str) -> dict[str, list[str]]:
    """Greedy base outputs of the first server alone (the single-server engine)."""
    engine = make_engine("openai", embedded_model_path, base_urls=[servers[0].url])
    try:
        return {"base": [g.text for g in engine.generate(PROMPTS, BASE)]}
    finally:
        engine.close()


def _first(events, url: str, kind: str, version: int | None, after: float = 0.0) -> float | None:
    return next((t for t, u, k, v in events if u == url and k == kind and v == version and t >= after), None)


@pytest.mark.model
@pytest.mark.slow
def test_requests_spread_over_both_servers(fleet_engine: Engine, servers: list[VLLMServer],
                                           reference: dict[str, list[str]]) -> None:
    out = fleet_engine.generate(PROMPTS, BASE)
    assert [g.text for g in out] == reference["base"]
    stats = fleet_engine.fleet.stats()
    answered = {url: s["by_adapter"].get("base", 0) for url, s in stats.items()}
    assert sum(answered.values()) == len(PROMPTS)
    assert all(n >= 2 for n in answered.values()), answered  # least-outstanding: about half each
    assert set(fleet_engine.last_served_by) == {s.url for s in servers}
    assert all(s["outstanding"] == 0 and s["failures"] == 0 for s in stats.values())



@pytest.mark.model
@pytest.mark.slow
def test_label_scores_keep_each_prompt_on_one_server(fleet_engine: Engine, servers: list[VLLMServer],
                                                     embedded_model_path: str) -> None:
    """A prompt's teacher-forced label requests all go where its first one went (that server has
    the prompt in its prefix cache), and the scores equal one server's."""
    labels = ["ethical", "neutral", "unethical"]
    per_prompt = sum(len(fleet_engine.encoder.encode_choice(c)) for c in labels)
    t0 = time.monotonic()
    scores = fleet_engine.score_choices(PROMPTS[:2], labels)
    sends = Counter(u for t, u, k, _ in list(fleet_engine.fleet.events) if k == "send" and t >= t0)
    assert sorted(sends.values()) == [per_prompt, per_prompt], sends  # one prompt per server, whole
    single = make_engine("openai", embedded_model_path, base_urls=[servers[0].url])
    try:
        expected = single.score_choices(PROMPTS[:2], labels)
    finally:
        single.close()
    assert [x for row in scores for x in row] == pytest.approx([x for row in expected for x in row], abs=1e-3)


@pytest.mark.model
@pytest.mark.slow
def test_adapter_reaches_both_servers_before_policy_use(fleet_engine: Engine, servers: list[VLLMServer],
                                                        random_adapter: str, reference: dict) -> None:
    fleet_engine.load_adapter(random_adapter, 1)
    assert all("v1" in s.models() for s in servers)  # on both before any policy request
    policy = fleet_engine.generate(PROMPTS[:4], POLICY, adapter=1)
    reference["policy"] = [g.text for g in policy]
    stats = fleet_engine.fleet.stats()
    events = list(fleet_engine.fleet.events)
    for server in servers:
        assert stats[server.url]["by_adapter"].get(1, 0) >= 1, stats
        published, first_use = _first(events, server.url, "publish", 1), _first(events, server.url, "send", 1)
        assert published is not None and first_use is not None and published < first_use
        assert stats[server.url]["adapter_misses"] == 0



@pytest.mark.model
@pytest.mark.slow
def test_killing_a_server_mid_batch_loses_no_request(fleet_engine: Engine, servers: list[VLLMServer],
                                                     reference: dict, embedded_model_path: str) -> None:
    a, b = servers
    before = fleet_engine.fleet.stats()
    result: list = []
    worker = threading.Thread(target=lambda: result.append(fleet_engine.generate(PROMPTS, BASE)))
    worker.start()
    deadline = time.monotonic() + 30
    while fleet_engine.fleet.stats()[b.url]["outstanding"] == 0:
        assert time.monotonic() < deadline, "no request reached the second server"
        time.sleep(0.01)
    in_flight = fleet_engine.fleet.stats()[b.url]["outstanding"]
    b.stop(hard=True)  # kill -9 mid-batch
    worker.join(120)
    assert not worker.is_alive()
    assert [g.text for g in result[0]] == reference["base"]  # complete, and equal to one server's output
    after = fleet_engine.fleet.stats()
    assert after[b.url]["up"] is False and after[b.url]["failures"] >= 1
    moved = after[a.url]["answered"] - before[a.url]["answered"]
    assert moved >= len(PROMPTS) - (after[b.url]["answered"] - before[b.url]["answered"])
    assert in_flight >= 1 and moved > len(PROMPTS) // 2
    # an engine that starts now finds the second server down and loads the adapter on the first only
    late = make_engine("openai", embedded_model_path, base_urls=[s.url for s in servers])
    reference["late_engine"] = late
    late.load_adapter(Path(fleet_engine.fleet.adapters[1].path), 1)
    assert late.fleet.stats()[b.url]["up"] is False and late.fleet.stats()[a.url]["adapters"] == [1]



@pytest.mark.model
@pytest.mark.slow
def test_restarted_server_gets_the_adapter_before_serving_it(fleet_engine: Engine, servers: list[VLLMServer],
                                                             reference: dict) -> None:
    _, b = servers
    late: Engine = reference.pop("late_engine")
    try:
        b.start().wait_ready()
        restarted = time.monotonic()
        assert "v1" not in b.models()  # a fresh process: it lost every adapter
        for engine in (fleet_engine, late):  # the old engine saw it die; the late one never saw it up
            before = engine.fleet.stats()[b.url]["by_adapter"].get(1, 0)
            out = engine.generate(PROMPTS[:4], POLICY, adapter=1)
            assert [g.text for g in out] == reference["policy"]
            stats = engine.fleet.stats()[b.url]
            assert stats["up"] and stats["adapter_misses"] == 0
            assert stats["by_adapter"].get(1, 0) > before  # it serves the version again...
            events = list(engine.fleet.events)
            published = _first(events, b.url, "publish", 1, after=restarted)
            first_use = _first(events, b.url, "send", 1, after=restarted)
            assert published is not None and first_use is not None and published < first_use  # ...only after
        assert "v1" in b.models()
    finally:
        late.close()



# ---------------------------------------------------------------------------------------------
# Logic against fake servers
# ---------------------------------------------------------------------------------------------
class FakeServer:
    """A tiny OpenAI-ish server: /v1/models, /v1/completions (echo), /v1/load_lora_adapter.
    `restart()` keeps the port and forgets the adapters, like a restarted vLLM."""

    def __init__(self, port: int | None = None, delay_s: float = 0.02) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.delay_s = delay_s
        self.loaded: set[str] = set()
        self.status = 200  # what /v1/completions answers (e.g. 500)
        self.refuse_adapters = False
        self.log: list[tuple[str, str]] = []  # (kind, model) in arrival order
        self.httpd: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, body: object, ctype: str = "application/json") -> None:
                data = (json.dumps(body) if ctype == "application/json" else str(body)).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                data = [{"id": "base", "parent": None}] + [{"id": n, "parent": "base"} for n in sorted(fake.loaded)]
                self._send(200, {"object": "list", "data": data})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/load_lora_adapter"):
                    if fake.refuse_adapters:
                        return self._send(400, {"error": {"message": "cannot read adapter"}})
                    fake.loaded.add(body["lora_name"])
                    fake.log.append(("publish", body["lora_name"]))
                    return self._send(200, "Success", "text/plain")
                model = body["model"]
                fake.log.append(("completion", model))
                if model != "base" and model not in fake.loaded:
                    return self._send(404, {"error": {"message": f"The model `{model}` does not exist."}})
                time.sleep(fake.delay_s)
                if fake.status != 200:
                    return self._send(fake.status, {"error": {"message": "boom"}})
                self._send(200, {"choices": [{"text": f"{model}:{len(body['prompt'])}"}],
                                 "usage": {"completion_tokens": 1}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def restart(self) -> None:
        self.stop()
        self.loaded = set()
        self.start()


@pytest.fixture
def fakes() -> Iterator[list[FakeServer]]:
    servers = [FakeServer(), FakeServer()]
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture
def fleet(fakes: list[FakeServer]) -> Iterator[Fleet]:
    with httpx.Client(timeout=10) as client:
        yield Fleet([s.url for s in fakes], client, retries=2, down_s=0.2, probe_timeout_s=2)


def _run(fleet: Fleet, n: int, version: int | None = None) -> list[tuple[dict, str]]:
    model = "base" if version is None else f"v{version}"
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: fleet.request("/completions", {"model": model, "prompt": [0] * i}, version),
                             range(n)))


def test_least_outstanding_spreads_requests(fleet: Fleet, fakes: list[FakeServer]) -> None:
    assert fleet.discover_model() == "base"
    out = _run(fleet, 40)
    assert [o["choices"][0]["text"] for o, _ in out] == [f"base:{i}" for i in range(40)]
    stats = fleet.stats()
    assert all(15 <= s["answered"] <= 25 and s["outstanding"] == 0 for s in stats.values()), stats
    for i in range(5):  # one at a time: the tie-break (fewest sent) evens the counts out
        fleet.request("/completions", {"model": "base", "prompt": [i]})
    sent = [s["sent"] for s in fleet.stats().values()]
    assert sum(sent) == 45 and max(sent) - min(sent) <= 1


def test_prefer_keeps_a_server_while_it_is_up(fleet: Fleet, fakes: list[FakeServer]) -> None:
    a, b = fakes
    with ThreadPoolExecutor(8) as pool:
        out = list(pool.map(lambda i: fleet.request("/completions", {"model": "base", "prompt": [i]}, prefer=b.url),
                            range(12)))
    assert {url for _, url in out} == {b.url}  # however busy b is
    b.stop()
    out = [fleet.request("/completions", {"model": "base", "prompt": [i]}, prefer=b.url) for i in range(3)]
    assert {url for _, url in out} == {a.url}  # a preferred server that is down is passed over


def test_failover_and_reprobe_with_adapter_republish(fleet: Fleet, fakes: list[FakeServer]) -> None:
    a, b = fakes
    b.stop()
    out = _run(fleet, 10)
    assert len(out) == 10 and {url for _, url in out} == {a.url}
    assert fleet.stats()[b.url]["up"] is False and fleet.stats()[b.url]["failures"] >= 1
    with ThreadPoolExecutor(2) as pool:
        fleet.publish("/adapters/v1", 1, pool)  # b is down: only a gets it now
    assert "v1" in a.loaded
    b.restart()
    time.sleep(0.3)  # b's down time is over: the next request re-probes it
    out = _run(fleet, 10, version=1)
    assert {url for _, url in out} == {a.url, b.url}
    assert b.log.index(("publish", "v1")) < b.log.index(("completion", "v1"))  # published before use
    assert fleet.stats()[b.url]["adapter_misses"] == 0 and fleet.stats()[b.url]["adapters"] == [1]


def test_unnoticed_restart_gets_the_adapter_again(fleet: Fleet, fakes: list[FakeServer]) -> None:
    a, b = fakes
    with ThreadPoolExecutor(2) as pool:
        fleet.publish("/adapters/v1", 1, pool)
    b.restart()  # between two calls: the fleet never saw it fail
    out = _run(fleet, 10, version=1)
    assert [o["choices"][0]["text"] for o, _ in out] == [f"v1:{i}" for i in range(10)]  # nothing lost
    assert fleet.stats()[b.url]["adapter_misses"] >= 1
    assert "v1" in b.loaded
    _run(fleet, 10, version=1)
    assert fleet.stats()[b.url]["by_adapter"].get(1, 0) >= 1


def test_stale_adapter_is_republished(fleet: Fleet, fakes: list[FakeServer]) -> None:
    a, b = fakes
    with ThreadPoolExecutor(2) as pool:
        fleet.publish("/adapters/v1-old", 1, pool)
        b.stop()
        _run(fleet, 2)  # the fleet notices b is down
        fleet.publish("/adapters/v1-new", 1, pool)  # load_inplace on a only; b holds a stale v1
    b.start()  # same process state: still lists v1 (the old one)
    time.sleep(0.3)
    b.log.clear()
    _run(fleet, 10, version=1)
    assert b.log[0] == ("publish", "v1")  # re-published before the first v1 request


def test_server_errors_move_requests_and_refused_adapters_stay_off(fleet: Fleet, fakes: list[FakeServer]) -> None:
    a, b = fakes
    b.status = 500
    out = _run(fleet, 6)
    assert {url for _, url in out} == {a.url}
    b.status = 200
    a.refuse_adapters = True
    time.sleep(0.3)
    with ThreadPoolExecutor(2) as pool:
        fleet.publish("/adapters/v2", 2, pool)  # a refuses it (400), b takes it
    out = _run(fleet, 6, version=2)
    assert {url for _, url in out} == {b.url}
    b.refuse_adapters = True
    with ThreadPoolExecutor(2) as pool, pytest.raises(EngineError, match="could not be published"):
        fleet.publish("/adapters/v3", 3, pool)
    assert 3 not in fleet.adapters


def test_all_servers_down_is_a_quick_clear_error(fleet: Fleet, fakes: list[FakeServer]) -> None:
    for s in fakes:
        s.stop()
    t0 = time.monotonic()
    with pytest.raises(EngineError, match=r"servers .* are unreachable or failing after 2 retries: ConnectError"):
        fleet.request("/completions", {"model": "base", "prompt": [1]})
    assert time.monotonic() - t0 < 5
    with pytest.raises(EngineError, match="no OpenAI-compatible server answers"):
        fleet.discover_model()


# ---------------------------------------------------------------------------------------------
# CLI: --base-url repeats
# ---------------------------------------------------------------------------------------------
class _Stop(Exception):
    pass


def test_base_url_repeats_on_run_and_experiment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import agentloop.engines
    import agentloop.launch
    from agentloop.cli import app
    from agentloop.core.paths import repo_root

    seen: dict[str, object] = {}

    def fake_run(scenario, *args, **kwargs):
        seen["run"] = scenario.model.base_url
        raise _Stop

    def fake_engine(backend, model, **options):
        seen["experiment"] = (backend, options["base_urls"])
        raise _Stop

    monkeypatch.setattr(agentloop.launch, "execute_run", fake_run)
    monkeypatch.setattr(agentloop.engines, "make_engine", fake_engine)
    urls = ["http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"]
    flags = [a for u in urls for a in ("--base-url", u)]
    smoke = str(repo_root() / "scenarios" / "smoke.yaml")
    common = ["--backend", "openai", "--model", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'a.db'}"]
    result = CliRunner().invoke(app, ["run", smoke, *common, *flags])
    assert isinstance(result.exception, _Stop), result.output
    result = CliRunner().invoke(app, ["experiment", smoke, *common, *flags])
    assert isinstance(result.exception, _Stop), result.output
    assert seen == {"run": urls, "experiment": ("openai", urls)}
