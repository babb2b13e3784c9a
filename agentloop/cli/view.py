"""`agentloop view`: serve the read-only web viewer of the store on 127.0.0.1."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
from typing import Annotated

import typer
from rich.console import Console

from agentloop.cli.app import app
from agentloop.cli.db import DbOption
from agentloop.core.errors import AgentloopError
from agentloop.core.paths import db_url

log = logging.getLogger(__name__)
console = Console()
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line before uvicorn starts (it would log a traceback-ish error and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AgentloopError(f"port {port} on {host} is in use: pass --port with a free port") from None
            raise AgentloopError(f"cannot listen on {host}:{port} ({exc.strerror}): pass --host 127.0.0.1") from None


@app.command("view")
def view(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="Interface to bind; anything but loopback exposes every transcript.")]
    = "127.0.0.1",
) -> None:
    """Serve a read-only web viewer of runs, episodes, verdicts and retention (no writes, GET only)."""
    import uvicorn

    from agentloop.view import create_app, open_readonly_store

    store = open_readonly_store(db_url(db))
    loopback = _is_loopback(host)
    if not loopback:
        log.warning("binding %s: anyone who can reach this port can read every transcript in %s", host, store.url)
    # a loopback server only answers its own names, so a DNS-rebinding page cannot read it
    app_ = create_app(store, allowed_hosts=[*LOOPBACK_NAMES, host] if loopback else None)
    _check_port_free(host, port)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"agentloop view of [bold]{store.url}[/] at [bold]http://{shown}:{port}/[/] (read-only; Ctrl-C stops)")
    uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False, server_header=False)
