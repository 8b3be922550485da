"""Command-line words for library errors: an :class:`InputError`'s fixes written as flags.

Library code says what is wrong and where (``InputError.where``) and gives each fix as an
``(option, text)`` hint in Python terms (``columns={'params': ...}``). Here each option becomes
the flag that does the same (``--map params=<your column>``); a hint without a flag keeps its
text.
"""

from __future__ import annotations

from collections.abc import Callable

from distillscale.errors import InputError

__all__ = ["cli_message"]


def _map(exc: InputError) -> str:
    column = exc.where.column if exc.where is not None else None
    return f"map one with --map {column or 'NAME'}=<your column>"


#: Python keyword argument -> the flag's wording of the fix.
FLAG_HINTS: dict[str, Callable[[InputError], str]] = {
    "columns": _map,
    "drop_invalid": lambda exc: "fix the value or pass --drop-invalid to skip rows",
    "loss_unit": lambda exc: "a loss in other units: pass --loss-unit bits or bpb",
}


def cli_message(exc: InputError) -> str:
    """The one line the command line prints for ``exc`` (without the ``error:`` prefix)."""
    hints = getattr(exc, "hints", ())
    if not hints:
        return str(exc)
    fixes = (FLAG_HINTS[opt](exc) if opt in FLAG_HINTS else text for opt, text in hints)
    return exc.message + "".join(f"; {fix}" for fix in fixes)
