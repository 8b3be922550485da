"""The typer application object and the helpers every command module shares.

Each subcommand lives in its own module (``cli/fit.py``, ``cli/train.py``, ...) and registers
itself on :data:`app`. Command modules only parse options, call the Python API and render:
machine output (``--json``) goes to stdout, tables and progress to stderr.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from distillscale.errors import InputError

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


def check_folder(path: Path, flag: str) -> None:
    """Refuse a folder path that names a file, or lies under one (before anything is written).

    Raises
    ------
    InputError
        ``--workdir run.csv: is a file, not a folder; ...``.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path}: is a file, not a directory; give a directory path")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(
                    f"{flag} {path}: {parent} is a file, not a directory; give a directory path"
                )
            break


def check_output_file(path: Path, flag: str, example: str) -> None:
    """Refuse an output file path that is a folder or whose folder is missing or a file.

    Raises
    ------
    InputError
        ``-o out: is a directory; give a file such as out/runs.csv``.
    """
    if path.is_dir() or not path.name:
        shown = str(path) or "."
        raise InputError(f"{flag} {shown}: is a directory; give a file such as {path / example}")
    parent = path.parent
    if not parent.is_dir():
        what = (
            "is a file, not a directory" if parent.exists() else "does not exist; create it first"
        )
        raise InputError(f"{flag} {path}: {parent} {what}")


@app.callback()
def _root() -> None:
    """Scaling laws of knowledge distillation: fit, train, run studies and plan."""
