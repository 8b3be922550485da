"""Command-line words for library errors: an :class:`InputError`'s fixes written as flags.

Library code says what is wrong and where (``InputError.where``), opens with the argument it
is about in Python terms (``where='los < 3'``) and gives each fix as an ``(option, text)`` hint
(``columns={'params': ...}``). Here the argument and each fix become the flag that does the
same (``--where 'los < 3'``, ``--map params=<your column>``); one without a flag keeps its
Python wording.
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


#: Python keyword argument -> the flag that sets it, for an error's subject.
FLAGS = {"columns": "--map", "where": "--where"}


def cli_message(exc: InputError) -> str:
    """The one line the command line prints for ``exc`` (without the ``error:`` prefix)."""
    hints = getattr(exc, "hints", ())
    subject = getattr(exc, "subject", None)
    if not hints and subject is None:
        return str(exc)
    head = ""
    if subject is not None:
        option, python, value = subject
        head = f"{FLAGS[option]} {value}".rstrip() if option in FLAGS else python
    fixes = (FLAG_HINTS[opt](exc) if opt in FLAG_HINTS else text for opt, text in hints)
    return head + exc.message + "".join(f"; {fix}" for fix in fixes)
