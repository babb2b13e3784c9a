"""A fleet of OpenAI-compatible servers behind one `openai` engine.

- **Balancing:** each request goes to the up server with the fewest outstanding requests
  (ties: the one sent the fewest so far), chosen when the request starts; a request may
  `prefer` a server (one that already holds its prompt in its prefix cache), taken while that
  server is up and holds the version.
- **Failover:** a transport error or 5xx marks that server down for `down_s` seconds and the
  request moves to another server at once; when no server is left, the request waits
  (0.5 s, doubling), re-probes every down server and tries again, `retries` times.
- **Re-probe:** a down server is probed (`GET /models`) when its down time is over; it is
  taken back only after it holds every adapter version (published again where it lacks
  one: a restarted server has none; one that missed a `load_inplace` has a stale one).
- **Adapters:** `publish` loads a new version on every up server; a policy request for
  version v only goes to a server that holds v (a 404 for v means the server lost it, e.g.
  restarted unnoticed: it is re-synced before it serves v again). Adapter paths must be
  readable by every server (a shared filesystem).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from agentloop.core.errors import EngineError

log = logging.getLogger(__name__)


class ServerFailure(Exception):
    """The server did not answer or answered 5xx: try another one."""


class AdapterMissing(Exception):
    """The server answered 404 for an adapter it should hold (it restarted and lost it)."""


@dataclass(frozen=True)
class Adapter:
    name: str  # the model name requests use, e.g. "v3"
    path: str
    generation: int  # bumps on every publish, so a server that missed a re-publish is stale


@dataclass
class Server:
    url: str
    up: bool = True
    down_until: float = 0.0
    probing: bool = False
    outstanding: int = 0
    sent: int = 0
    answered: int = 0
    failures: int = 0
    adapter_misses: int = 0
    last_error: str = ""
    adapters: dict[int, int] = field(default_factory=dict)  # version -> generation it holds
    by_adapter: Counter = field(default_factory=Counter)  # answered requests per version (None: base)
    sync_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one publish/sync at a time


class Fleet:
    """The servers, their health and adapters; `request` and `publish` are thread-safe."""

    def __init__(self, urls: list[str], client, retries: int = 3, down_s: float = 5.0,
                 probe_timeout_s: float = 5.0) -> None:
        seen = dict.fromkeys(u.rstrip("/") for u in urls)
        if not seen:
            raise EngineError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.servers = [Server(u) for u in seen]
        self.client = client
        self.retries = retries
        self.down_s = down_s
        self.probe_timeout_s = probe_timeout_s
        self.adapters: dict[int, Adapter] = {}
        self.events: deque[tuple[float, str, str, int | None]] = deque(maxlen=100_000)  # (t, url, kind, version)
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    # -- HTTP ---------------------------------------------------------------------------
    def _post(self, server: Server, path: str, payload: dict, adapter: int | None = None) -> dict:
        import httpx

        try:
            resp = self.client.post(f"{server.url}{path}", json=payload)
        except httpx.TransportError as exc:
            raise ServerFailure(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500:
            raise ServerFailure(f"HTTP {resp.status_code}: {resp.text[:200]}")
        if resp.status_code in (400, 404) and adapter is not None and "does not exist" in resp.text:
            raise AdapterMissing(resp.text[:200])
        if resp.status_code >= 400:
            raise EngineError(f"{server.url}{path} answered {resp.status_code}: {resp.text[:300]}")
        if "json" not in resp.headers.get("content-type", ""):
            return {"text": resp.text}  # vLLM's /v1/load_lora_adapter answers plain text
        return resp.json()

    def _models(self, server: Server) -> list[dict]:
        import httpx

        try:
            resp = self.client.get(f"{server.url}/models", timeout=self.probe_timeout_s)
            resp.raise_for_status()
            return list(resp.json()["data"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ServerFailure(f"{type(exc).__name__}: {exc}") from exc

    # -- health ---------------------------------------------------------------------------
    def _mark_down(self, server: Server, err: str) -> None:
        with self._lock:
            if server.up:
                log.warning("server %s is down (%s); its requests go to the others", server.url, err)
            server.up = False
            server.down_until = time.monotonic() + self.down_s
            server.failures += 1
            server.last_error = err

    def discover_model(self) -> str:
        """The base model's name, from the first server that answers; every server is asked, and
        those that do not answer start down (re-probed later)."""
        errors, names = [], []
        for server in self.servers:
            try:
                models = self._models(server)
            except ServerFailure as exc:
                self._mark_down(server, str(exc))
                errors.append(f"{server.url}: {exc}")
                continue
            base = [m["id"] for m in models if not m.get("parent")] or [m["id"] for m in models]
            names.extend((server.url, b) for b in base[:1])
            if not base:
                errors.append(f"{server.url}: lists no model")
        if names:
            if len({b for _, b in names}) > 1:
                log.warning("the servers serve different base models: %s", dict(names))
            return names[0][1]
        raise EngineError(f"no OpenAI-compatible server answers at {', '.join(self.urls)} "
                          f"({'; '.join(errors)}); start one or fix --base-url")

    def _probe(self, server: Server) -> bool:
        """Bring a down server back if it answers and holds (or takes) every adapter version.
        The caller has set server.probing."""
        try:
            while True:
                generation = self._generation
                self._sync(server)
                with self._lock:  # a publish during the sync skipped this server: sync again
                    if generation == self._generation:
                        server.up = True
                        server.last_error = ""
                        break
        except ServerFailure as exc:
            self._mark_down(server, str(exc))
            return False
        finally:
            with self._lock:
                server.probing = False
        log.info("server %s is up (adapters %s)", server.url, sorted(server.adapters))
        return True

    def _sync(self, server: Server) -> None:
        """Publish to `server` every adapter version it lacks or holds stale (ServerFailure if it
        does not answer). A version it refuses (4xx) is left out: no request for it goes there."""
        with server.sync_lock:
            loaded = {m["id"] for m in self._models(server)}
            with self._lock:
                adapters = sorted(self.adapters.items())
            for version, adapter in adapters:
                if adapter.name not in loaded:
                    server.adapters.pop(version, None)  # restarted: it lost it
                if server.adapters.get(version) != adapter.generation:
                    try:
                        self._publish_one(server, version, adapter)
                    except EngineError as exc:
                        log.warning("server %s refuses adapter %s: %s", server.url, adapter.name, exc)

    def _publish_one(self, server: Server, version: int, adapter: Adapter) -> None:
        """Caller holds server.sync_lock. EngineError (4xx) or ServerFailure propagate."""
        self._post(server, "/load_lora_adapter",
                   {"lora_name": adapter.name, "lora_path": adapter.path, "load_inplace": True})
        with self._lock:  # events are appended under the lock: their order is the real order
            server.adapters[version] = adapter.generation
            self.events.append((time.monotonic(), server.url, "publish", version))
        log.info("adapter %s published to %s", adapter.name, server.url)

    def _holds(self, server: Server, version: int | None) -> bool:
        if version is None:
            return True
        adapter = self.adapters.get(version)
        return adapter is not None and server.adapters.get(version) == adapter.generation

    # -- choosing a server ----------------------------------------------------------------
    def _acquire(self, version: int | None, exclude: set[str], force_probe: bool = False,
                 prefer: str | None = None) -> Server | None:
        """The up server (not in `exclude`) holding `version`: `prefer` if it is one of them,
        else the one with the fewest outstanding requests; its count already raised; None when
        there is none."""
        refused: set[str] = set()  # up, but will not take this version
        probed: set[str] = set()
        while True:
            now = time.monotonic()
            with self._lock:
                due = next((s for s in self.servers if not s.up and not s.probing and s.url not in exclude
                            and s.url not in probed and (force_probe or s.down_until <= now)), None)
                if due is not None:
                    due.probing = True
            if due is not None:  # probe outside the lock: other threads keep using the up servers
                probed.add(due.url)
                self._probe(due)
                continue
            with self._lock:
                up = [s for s in self.servers if s.up and s.url not in exclude and s.url not in refused]
                ready = [s for s in up if self._holds(s, version)]
                if ready:
                    best = next((s for s in ready if s.url == prefer), None) or min(
                        ready, key=lambda s: (s.outstanding, s.sent))
                    best.outstanding += 1
                    best.sent += 1
                    self.events.append((time.monotonic(), best.url, "send", version))
                    return best
                lacking = up[0] if up else None
            if lacking is None:
                return None
            try:  # up servers exist but none holds this version yet: publish it now
                self._sync(lacking)
            except ServerFailure as exc:
                self._mark_down(lacking, str(exc))
                continue
            if not self._holds(lacking, version):
                refused.add(lacking.url)

    def _release(self, server: Server) -> None:
        with self._lock:
            server.outstanding -= 1

    # -- the two operations ---------------------------------------------------------------
    def request(self, path: str, payload: dict, version: int | None = None,
                prefer: str | None = None) -> tuple[dict, str]:
        """POST to one server (failing over as needed); (answer, url of the server that answered)."""
        tried: set[str] = set()
        err = "no server holds this adapter version"
        delay = 0.5
        force = False
        for attempt in range(self.retries + 1):
            while (server := self._acquire(version, tried, force_probe=force, prefer=prefer)) is not None:
                force = False
                try:
                    out = self._post(server, path, payload, adapter=version)
                except ServerFailure as exc:
                    err = str(exc)
                    self._mark_down(server, err)
                    tried.add(server.url)
                    continue
                except AdapterMissing as exc:
                    err = f"{server.url} lost adapter v{version}: {exc}"
                    with self._lock:  # it restarted unnoticed: re-probe (and re-publish) before next use
                        server.adapter_misses += 1
                        server.adapters.pop(version, None)
                        server.up = False
                        server.down_until = 0.0
                    log.warning("%s; re-publishing it there", err)
                    tried.add(server.url)
                    continue
                finally:
                    self._release(server)
                with self._lock:
                    server.answered += 1
                    server.by_adapter[version] += 1
                return out, server.url
            if attempt < self.retries:
                log.warning("no server of %s can take %s (%s); retry %d in %.1fs", self.urls, path, err,
                            attempt + 1, delay)
                time.sleep(delay)
                delay *= 2
                tried.clear()
                force = True  # probe the down servers now, whatever their down time
        what = f"server {self.urls[0]} is" if len(self.servers) == 1 else f"servers {', '.join(self.urls)} are"
        raise EngineError(f"{what} unreachable or failing after {self.retries} retries: {err}")

    def publish(self, path: str, version: int, pool: ThreadPoolExecutor) -> None:
        """Load adapter `version` from `path` on every server (down ones get it when they come
        back). EngineError if no server took it."""
        with self._lock:
            self._generation += 1
            previous = self.adapters.get(version)
            self.adapters[version] = Adapter(f"v{version}", str(path), self._generation)

        def one(server: Server) -> str | None:
            if not server.up:
                return f"{server.url}: down"
            try:
                with server.sync_lock:
                    self._publish_one(server, version, self.adapters[version])
                return None
            except ServerFailure as exc:
                self._mark_down(server, str(exc))
                return f"{server.url}: {exc}"
            except EngineError as exc:
                return str(exc)

        errors = [e for e in pool.map(one, self.servers) if e]
        if len(errors) < len(self.servers):
            for e in errors:
                log.warning("adapter v%d not on every server yet: %s", version, e)
            return
        if any(not s.up for s in self.servers):  # all failed or down: one forced probe round
            for server in self.servers:
                with self._lock:
                    claim = not server.up and not server.probing
                    if claim:
                        server.probing = True
                if claim and self._probe(server):
                    return
        with self._lock:
            if previous is None:
                del self.adapters[version]
            else:
                self.adapters[version] = previous
        raise EngineError(f"adapter v{version} ({path}) could not be published: {'; '.join(errors)}")

    def stats(self) -> dict[str, dict]:
        """Per server: up, outstanding, sent, answered, failures, adapter misses, adapters held,
        answered requests per adapter version ('base' for None)."""
        with self._lock:
            return {s.url: {"up": s.up, "outstanding": s.outstanding, "sent": s.sent, "answered": s.answered,
                            "failures": s.failures, "adapter_misses": s.adapter_misses,
                            "adapters": sorted(v for v in s.adapters if self._holds(s, v)),
                            "by_adapter": {("base" if k is None else k): n for k, n in s.by_adapter.items()},
                            "last_error": s.last_error}
                    for s in self.servers}
