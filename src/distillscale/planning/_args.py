"""The subject of a planning error: the keyword argument it is about, as data.

Planning errors name the arguments of :func:`distillscale.plan` (``compute=1e+05``,
``teacher_loss=500.0``); :func:`distillscale.cli.errors.cli_message` writes them as the ``plan``
flag of the same name (``--compute 1e+05``). See :class:`distillscale.errors.InputError`.
"""

from __future__ import annotations

from distillscale.errors import Where

__all__ = ["fit_where", "state_subject", "value_subject"]


def value_subject(option: str, shown: str, typed: str | None = None) -> tuple[str, str, str]:
    """A bad value: ``compute=1e+05`` in Python, ``--compute 1e+05`` on the command line.

    ``typed`` is the value as a user types it after the flag when that differs from its Python
    form (``scenario='x'``, ``--scenario x``).
    """
    return (option, f"{option}={shown}", shown if typed is None else typed)


def state_subject(option: str, given: object) -> tuple[str, str, str]:
    """An argument in a wrong combination: ``teachers=[2.0, 3.0]`` in Python, ``--teachers``."""
    return (option, f"{option}={given!r}", "")


def fit_where(source: str) -> Where | None:
    """The fit file a planning error is about; None for a published set (``@name``)."""
    return None if source.startswith(("@", "<")) else Where(file=source)
