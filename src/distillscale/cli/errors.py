"""Command-line words for library errors and fit warnings: their fixes written as flags.

Library code says what is wrong and where (``InputError.where``), opens with the argument it
is about in Python terms (``where='los < 3'``) and gives each fix as an ``(option, text)`` hint
(``columns={'params': ...}``). Here the argument and each fix become the flag that does the
same (``--where 'los < 3'``, ``--map params=<your column>``, ``compute=`` -> ``--compute``,
``scenario='teacher-free'`` -> ``--scenario teacher-free``); one without a flag keeps its
Python wording. A fit's :class:`~distillscale.fitting.fit_warning.FitWarning` names its fixes
the same way (``fixed={'E': VALUE}`` -> ``--fix E=VALUE``). Training errors name ``RunConfig``
fields, written as ``train`` flags (``shape.vocab_size=300`` -> ``--vocab 300``); a study's
runs word them as spec keys instead (:mod:`distillscale.study.messages`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from distillscale.errors import InputError

__all__ = ["cli_message", "cli_warning"]

if TYPE_CHECKING:
    from distillscale.fitting.fit_warning import FitWarning

#: ``distillscale.plan`` (and ``planning.hardware``) keyword arguments that are ``plan`` flags
#: of the same name, ``student_params`` -> ``--student-params``.
PLAN_ARGS = (
    "compute",
    "fit",
    "flops",
    "inference_tokens",
    "mfu",
    "peak_flops",
    "price_per_hour",
    "scenario",
    "student_params",
    "students",
    "target_loss",
    "teacher_loss",
    "teacher_params",
    "teacher_tokens",
    "teachers",
    "threshold",
)
_PLAN_ARG = re.compile(r"\b(" + "|".join(PLAN_ARGS) + r")=('[^']*'|\[[^\]]*\]|[\w.+-]*)")


#: ``RunConfig`` fields (and ``train_run``'s ``workdir``) that training errors name, and the
#: ``train`` flag that sets each: ``shape.vocab_size=1000`` -> ``--vocab 1000``.
TRAIN_FIELDS = {
    "shape.vocab_size": "--vocab",
    "shape.seq_len": "--seq-len",
    "batch_size": "--batch-size",
    "nproc": "--nproc",
    "workdir": "--workdir",
}
_TRAIN_FIELD = re.compile(
    r"(?<![\w.-])(" + "|".join(re.escape(f) for f in TRAIN_FIELDS) + r")(=(?=\S))?"
)


def _train_flags(text: str) -> str:
    """``use shape.vocab_size=1000`` -> ``use --vocab 1000``, ``batch_size`` -> ``--batch-size``."""
    return _TRAIN_FIELD.sub(lambda m: TRAIN_FIELDS[m[1]] + (" " if m[2] else ""), text)


def _out(text: str) -> str:
    """``run_study``'s ``out='DIR'`` -> ``--out DIR``, ``the out= of`` -> ``the --out of``."""
    return re.sub(r"\bout=", "--out", re.sub(r"\bout='([^']*)'", r"--out \1", text))


def _map(exc: InputError) -> str:
    column = exc.where.column if exc.where is not None else None
    return f"map one with --map {column or 'NAME'}=<your column>"


def _inputs(exc: InputError) -> str:
    """``missing params=, tokens=`` (a prediction's inputs) -> ``missing --params, --tokens``."""
    text = next(text for option, text in exc.hints if option == "inputs")
    names = re.findall(r"(\w+)=", text)
    return "missing " + ", ".join("--" + name.replace("_", "-") for name in names)


def _plan_arg(match: re.Match[str]) -> str:
    """``compute=`` -> ``--compute``, ``scenario='x'`` -> ``--scenario x``, ``[1, 2]``: ``1,2``."""
    flag, value = "--" + match[1].replace("_", "-"), match[2]
    if value.startswith("'"):
        value = value[1:-1]
    elif value.startswith("["):
        value = ",".join(v.strip() for v in value[1:-1].split(","))
    return f"{flag} {value}" if value else flag


def _flags(text: str) -> str:
    """Python arguments in a fix written as flags.

    ``columns={'params': 'q'}`` -> ``--map params=q``, ``required=`` -> ``--require``,
    ``fixed={'E': VALUE}`` -> ``--fix E=VALUE``, ``bounds={'E': (LO, HI)}`` -> ``--bound
    E=LO:HI`` and the arguments of :data:`PLAN_ARGS` (``compute=1e21`` -> ``--compute 1e21``).
    """
    text = re.sub(r"columns=\{'([^']*)': '([^']*)'\}", r"--map \1=\2", text)
    text = re.sub(r"\brequired=", "--require", text)
    text = re.sub(r"\bfixed=\{'?(\w+)'?: (\w+)\}", r"--fix \1=\2", text)
    text = re.sub(r"\bbounds=\{'?(\w+)'?: \((\w+), (\w+)\)\}", r"--bound \1=\2:\3", text)
    return _PLAN_ARG.sub(_plan_arg, text)


def _text(exc: InputError, option: str) -> str:
    """The text of ``exc``'s hint for ``option``."""
    return next(text for opt, text in exc.hints if opt == option)


def _hint(option: str) -> Callable[[InputError], str]:
    """The ``option`` hint's own text, reworded by :func:`_flags`."""
    return lambda exc: _flags(next(text for opt, text in exc.hints if opt == option))


def _train_hint(field: str) -> Callable[[InputError], str]:
    """The ``field`` hint's own text with ``RunConfig`` fields as ``train`` flags."""
    return lambda exc: _train_flags(_text(exc, field))


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
    "shape.vocab_size": _train_hint("shape.vocab_size"),
    "shape.seq_len": _train_hint("shape.seq_len"),
    "workdir": _train_hint("workdir"),
    "batch_size": lambda exc: "choose a smaller model or --batch-size",
    "nproc": lambda exc: _train_flags(_text(exc, "nproc")).replace("set --", "pass --"),
    "out": lambda exc: _out(_text(exc, "out")),
    "executor": lambda exc: (
        _text(exc, "executor")
        .replace("executor.kind local", "--executor local")
        .replace("give its address", "pass its address")
    ),
    "store": lambda exc: (
        "run a study first, or pass --store (or set DISTILLSCALE_STORE) to the store you mean"
    ),
}


#: Python keyword argument -> the flag that sets it, for an error's subject.
FLAGS = {
    **{name: "--" + name.replace("_", "-") for name in PLAN_ARGS},
    "hardware": "--hardware",
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
    **TRAIN_FIELDS,
    "out": "--out",
    "address": "--address",
}


def cli_message(exc: InputError) -> str:
    """The one line the command line prints for ``exc`` (without the ``error:`` prefix)."""

    def subject(triple: tuple[str, str, str]) -> str:
        option, python, value = triple
        return f"{FLAGS[option]} {value}".rstrip() if option in FLAGS else _flags(python)

    return exc.worded(
        subject, lambda opt, text: FLAG_HINTS[opt](exc) if opt in FLAG_HINTS else _flags(text)
    )


def cli_warning(warning: FitWarning | str) -> str:
    """The line the command line prints for a fit warning: its fixes as flags.

    ``E fitted at its lower bound ...: fix E (fixed={'E': VALUE})`` -> ``... (--fix E=VALUE)``.
    A warning read from an artifact written before warnings were structured is printed as it is.
    """
    text = str(warning)
    for _, fix in getattr(warning, "hints", ()):
        text = text.replace(fix, _flags(fix))
    return text
