"""Exception types shared by every layer, and optional-dependency loading.

User mistakes raise :class:`InputError`; the command line turns it into exit status 2
with its one-line message on stderr and no traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["InputError", "DistillscaleWarning", "require"]


class InputError(ValueError):
    """Bad input from a user: a file, a row, a column, a spec key or a flag.

    The message names the place, what was found, what is allowed and the fix.
    """


class DistillscaleWarning(UserWarning):
    """A soft problem worth a user's attention (a parameter at a bound, dropped rows)."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import an optional dependency or raise an :class:`InputError` saying how to install it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"torch"``.
    extra : str
        The ``distillscale`` extra that provides it, e.g. ``"train"``.
    feature : str
        What needs it, for the message, e.g. ``"distillscale train"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"{feature} needs {module.split('.')[0]}: pip install 'distillscale[{extra}]'"
        ) from exc
