"""Command-line words for library errors: an :class:`InputError`'s fixes written as flags.

Library code says what is wrong and where (``InputError.where``), opens with the argument it
is about in Python terms (``where='los < 3'``) and gives each fix as an ``(option, text)`` hint
(``columns={'params': ...}``). Here the argument and each fix become the flag that does the
same (``--where 'los < 3'``, ``--map params=<your column>``); one without a flag keeps its
Python wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from distillscale.errors import InputError

__all__ = ["cli_message"]


def _map(exc: InputError) -> str:
    column = exc.where.column if exc.where is not None else None
    return f"map one with --map {column or 'NAME'}=<your column>"


def _inputs(exc: InputError) -> str:
    """``missing params=, tokens=`` (a prediction's inputs) -> ``missing --params, --tokens``."""
    text = next(text for option, text in exc.hints if option == "inputs")
    names = re.findall(r"(\w+)=", text)
    return "missing " + ", ".join("--" + name.replace("_", "-") for name in names)


def _flags(text: str) -> str:
    """A column fix in flags: ``columns={'params': 'q'}`` -> ``--map params=q``."""
    text = re.sub(r"columns=\{'([^']*)': '([^']*)'\}", r"--map \1=\2", text)
    return re.sub(r"\brequired=", "--require", text)


def _hint(option: str) -> Callable[[InputError], str]:
    """The ``option`` hint's own text, reworded by :func:`_flags`."""
    return lambda exc: _flags(next(text for opt, text in exc.hints if opt == option))


#: Python keyword argument -> the flag's wording of the fix.
FLAG_HINTS: dict[str, Callable[[InputError], str]] = {
    "columns": _map,
    "drop_invalid": lambda exc: "fix the value or pass --drop-invalid to skip rows",
    "loss_unit": lambda exc: "a loss in other units: pass --loss-unit bits or bpb",
    "bootstrap": lambda exc: "refit with --bootstrap K",
    "bytes_per_token": lambda exc: "pass --bytes-per-token B",
    "fixed": lambda exc: "add runs, widen --where, or hold parameters with --fix",
    "fmt": lambda exc: _hint("fmt")(exc).replace("give fmt=", "pass --format"),
    "map": _hint("map"),
    "inputs": _inputs,
    "supervised": lambda exc: (
        "give --supervised FIT.json|@busbridge2025-supervised, or a table with a 'kind' "
        "column whose teacher/baseline rows fit the supervised law"
    ),
    "test_where": lambda exc: "give both --train-where and --test-where, or neither",
    "ties": lambda exc: "tie every parameter to the same one (e.g. --tie a=c --tie b=c)",
}


#: Python keyword argument -> the flag that sets it, for an error's subject.
FLAGS = {
    "bootstrap": "--bootstrap",
    "best": "--best-per",
    "bounds": "--bound",
    "bytes_per_token": "--bytes-per-token",
    "ci": "--ci",
    "columns": "--map",
    "delta": "--delta",
    "estimator": "--estimator",
    "fixed": "--fix",
    "fmt": "--format",
    "last": "--last-per",
    "loss_unit": "--loss-unit",
    "plot": "--plot",
    "required": "--require",
    "seed": "--seed",
    "supervised": "--supervised",
    "ties": "--tie",
    "where": "--where",
}


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
