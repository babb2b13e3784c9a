"""The root typer app; each command lives in its own module under agentloop/cli/."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="agentloop",
    help="Continual-learning coding agents with a frozen-copy conscience.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
