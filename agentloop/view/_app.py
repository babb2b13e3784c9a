"""The Starlette app of `agentloop view`: GET pages over a read-only store (runs, a run, an episode, search,
and the experiments with their seed-level report, agentloop.view._experiment).

    app = create_app(open_readonly_store("sqlite:///agentloop.db"))
    uvicorn.run(app, host="127.0.0.1", port=8765)

Any method but GET/HEAD is answered 405 before routing (there is no write endpoint to
reach), and every response carries a strict Content-Security-Policy (scripts and styles
only from /static), a second line of defence behind escaping untrusted agent output.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentloop.core.metrics import Rate
from agentloop.sandbox.resolve import backend_label
from agentloop.view import _data, _experiment, _render
from store.models import LABELS, SPLITS, RunRow
from store.session import Store, redact_urls

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
READ_METHODS = frozenset({"GET", "HEAD"})
SECURITY_HEADERS = {
    "content-security-policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
PER_PAGE_DEFAULT, PER_PAGE_MAX = 50, 500
SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX = 50, 500


class ReadOnlyGuard:
    """ASGI middleware: 405 for every non-read method, security headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in READ_METHODS:
            response = PlainTextResponse("405 Method Not Allowed: agentloop view is read-only\n", status_code=405,
                                         headers={"Allow": "GET, HEAD", **SECURITY_HEADERS})
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _query(params: dict[str, Any], **changes: Any) -> str:
    """`?a=1&b=2` from `params` with `changes` applied (None drops a key)."""
    merged = {**params, **changes}
    pairs = {k: v for k, v in merged.items() if v is not None and v != ""}
    return "?" + urlencode(pairs) if pairs else "?"


def _fmt_rate(k: int, n: int, digits: int = 3) -> str:
    """'0.250 [0.089, 0.532] (3/12)': k of n with its 95% Wilson interval, as the terminal and the report print it."""
    return Rate(k, n).text(digits)


def _fmt_num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(rate=_fmt_rate, num=_fmt_num, redact=redact_urls, sandbox_label=backend_label)
    env.globals.update(query=_query, line_anchor=_render.line_anchor, LABELS=LABELS, SPLITS=SPLITS)
    return env


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(lo, min(hi, int(raw)))
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer, not {raw!r}") from None


class Viewer:
    """The pages, bound to one store and one template environment."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.env = _environment()

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(request=request, store_url=self.store.url, **context)
        return HTMLResponse(html, status_code=status_code)

    def runs(self, request: Request) -> Response:
        by = request.query_params.get("by", "turn")
        split = request.query_params.get("split") or None
        arm = request.query_params.get("arm") or None
        if by not in ("turn", "episode"):
            raise HTTPException(400, f"by must be turn or episode, not {by!r}")
        if split is not None and split not in SPLITS:
            raise HTTPException(400, f"split must be one of {', '.join(SPLITS)}, not {split!r}")
        with self.store.session(readonly=True) as s:
            overviews = _data.run_overviews(s, by=by, split=split)  # type: ignore[arg-type]
        arms = sorted({o.run.arm or "(no arm)" for o in overviews})
        shown = [o for o in overviews if arm is None or (o.run.arm or "(no arm)") == arm]
        series = _data.retention_by_arm(shown)
        all_epochs = sorted({p.epoch for s in series for p in s.points})
        return self.render(request, "runs.html", overviews=shown, series=series, chart=_render.retention_svg(series),
                           all_epochs=all_epochs, arms=arms, params={"by": by, "split": split, "arm": arm})

    def run(self, request: Request) -> Response:
        run_id: int = request.path_params["run_id"]
        try:
            flt = _data.EpisodeFilter.from_params(dict(request.query_params))
        except _data.BadFilter as exc:
            raise HTTPException(400, str(exc)) from None
        page = _int_param(request, "page", 1, 1, 10**9)
        per_page = _int_param(request, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
        with self.store.session(readonly=True) as s:
            run = s.get(RunRow, run_id)
            if run is None:
                raise HTTPException(404, f"no run {run_id} in this store")
            episodes = _data.episode_page(s, run_id, flt, page=page, per_page=per_page)
            return self.render(
                request, "run.html", run=run, episodes=episodes, flt=flt, facets=_data.run_facets(s, run_id),
                stats=_data.run_stats(s, [run_id]).get(run_id, _data.NO_STATS),
                params={**flt.params(), **({"per_page": per_page} if per_page != PER_PAGE_DEFAULT else {})})

    def episode(self, request: Request) -> Response:
        run_id: int = request.path_params["run_id"]
        index: int = request.path_params["index"]
        with self.store.session(readonly=True) as s:
            view = _data.episode_view(s, run_id, index)
            if view is None:
                raise HTTPException(404, f"no episode {index} in run {run_id}")
            turns = [_render.turn_view(t) for t in view.episode.turns]
            return self.render(request, "episode.html", view=view, run=view.run, episode=view.episode, turns=turns)

    def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        run_raw = request.query_params.get("run", "").strip()
        run_id = _int_param(request, "run", 0, 0, 2**62) if run_raw else None
        limit = _int_param(request, "limit", SEARCH_LIMIT_DEFAULT, 1, SEARCH_LIMIT_MAX)
        hits: list[_data.SearchHit] = []
        if q:
            with self.store.session(readonly=True) as s:
                hits = _data.search(s, q, run_id=run_id, limit=limit)
        return self.render(request, "search.html", q=q, run_id=run_id, hits=hits, limit=limit)

    def experiments(self, request: Request) -> Response:
        with self.store.session(readonly=True) as s:
            summaries = _experiment.experiment_summaries(s)
        return self.render(request, "experiments.html", experiments=summaries)

    def experiment(self, request: Request) -> Response:
        experiment_id: str = request.path_params["experiment_id"]
        with self.store.session(readonly=True) as s:
            page = _experiment.experiment_page(s, experiment_id, self.store.url)
        if page is None:
            raise HTTPException(404, f"no experiment {experiment_id!r} in this store")
        return self.render(request, "experiment.html", page=page, report=page.report)

    @staticmethod
    def code_css(_request: Request) -> Response:
        return Response(_render.pygments_css(), media_type="text/css")

    def error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error (see the server log)"
        if status >= 500:
            log.exception("view: %s %s failed", request.method, request.url.path, exc_info=exc)
        return self.render(request, "error.html", status_code=status, status=status, detail=detail)


def create_app(store: Store, *, allowed_hosts: Sequence[str] | None = None) -> Starlette:
    """The viewer app over `store` (open it with `open_readonly_store`).

    `allowed_hosts` restricts the Host header (defends a loopback server against DNS
    rebinding); None accepts any host.
    """
    viewer = Viewer(store)
    get = ["GET"]  # Starlette adds HEAD
    routes = [
        Route("/", viewer.runs, methods=get, name="runs"),
        Route("/runs/{run_id:int}", viewer.run, methods=get, name="run"),
        Route("/runs/{run_id:int}/episodes/{index:int}", viewer.episode, methods=get, name="episode"),
        Route("/search", viewer.search, methods=get, name="search"),
        Route("/experiments", viewer.experiments, methods=get, name="experiments"),
        Route("/experiments/{experiment_id}", viewer.experiment, methods=get, name="experiment"),
        Route("/static/code.css", viewer.code_css, methods=get, name="code_css"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(ReadOnlyGuard)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={HTTPException: viewer.error, Exception: viewer.error})
