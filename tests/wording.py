"""Shared check of the two wordings of an error: Python arguments in the library, flags on the
command line (``distillscale.cli.errors.cli_message``)."""

from __future__ import annotations

from distillscale.cli.errors import cli_message
from distillscale.errors import InputError


def assert_worded(exc: InputError, python: str, cli: str) -> None:
    """``exc`` says ``python`` and names no ``--flag``; the command line's line says ``cli``."""
    assert python in str(exc)
    assert "--" not in str(exc)
    assert cli in cli_message(exc)
