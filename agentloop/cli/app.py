"""The root typer app; each command lives in its own module under agentloop/cli/."""

from __future__ import annotations

import io
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import typer

app = typer.Typer(
    name="agentloop",
    help="Continual-learning coding agents with a frozen-copy conscience.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def package_version() -> str:
    """The installed distribution's version (importlib.metadata), as `agentloop --version` prints it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agentloop")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "unknown (not installed)"


def command_line(argv: list[str]) -> str:
    """`agentloop ARGS` shell-quoted as typed, every URL password shown as *** (what `runs.command` keeps)."""
    from store.session import redact_urls  # sqlalchemy is store's alone; loaded when a run starts

    def redact(arg: str) -> str:
        if arg.startswith("-") and "=" in arg:  # --db=URL
            option, _, value = arg.partition("=")
            return f"{option}={redact_urls(value)}"
        return redact_urls(arg)

    return " ".join(shlex.quote(redact(a)) for a in ["agentloop", *argv])


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"agentloop {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the installed version and exit."),
) -> None:
    """Continual-learning coding agents with a frozen-copy conscience."""


@contextmanager
def result_stdout() -> Iterator[TextIO]:
    """For `--json`: while the block runs, everything else written to stdout (vLLM's logs and
    prints, C code included) goes to stderr, and the yielded stream is the real stdout, so
    scripts get exactly one JSON document there."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):  # captured (e.g. CliRunner): nothing to protect
        yield sys.stdout
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    os.dup2(sys.stderr.fileno(), fd)
    result = os.fdopen(os.dup(saved), "w")
    try:
        yield result
    finally:
        result.close()
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
