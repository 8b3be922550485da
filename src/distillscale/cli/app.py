"""The typer application object and the helpers every command module shares.

Each subcommand lives in its own module (``cli/fit.py``, ``cli/train.py``, ...) and registers
itself on :data:`app`. Command modules only parse options, call the Python API and render:
machine output (``--json``) goes to stdout, tables and progress to stderr.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(
    name="distillscale",
    help="Scaling laws of knowledge distillation: fit, train, run studies and plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Human-readable output (tables, progress, warnings) goes here.
err_console = Console(stderr=True)


def _json_default(value: Any) -> Any:
    """Convert numpy scalars and arrays to plain JSON types."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def _finite(obj: Any) -> Any:
    """Replace non-finite floats by None so the document is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def emit_json(document: Any) -> None:
    """Write one JSON document to stdout (the only thing ``--json`` writes there)."""
    text = json.dumps(_finite(json.loads(json.dumps(document, default=_json_default))), indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@app.callback()
def _root() -> None:
    """Scaling laws of knowledge distillation: fit, train, run studies and plan."""
