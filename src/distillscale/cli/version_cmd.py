"""``distillscale version``: print the installed version."""

from __future__ import annotations

import typer

from distillscale import __version__
from distillscale.cli.app import app


@app.command("version")
def version() -> None:
    """Print the distillscale version."""
    typer.echo(f"distillscale {__version__}")
