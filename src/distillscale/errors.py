"""Exception types shared by every layer, and optional-dependency loading.

User mistakes raise :class:`InputError`; the command line turns it into exit status 2
with its one-line message on stderr and no traceback.
"""

from __future__ import annotations

import errno
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

__all__ = [
    "DISK_FULL_ERRNOS",
    "DamagedFile",
    "DistillscaleWarning",
    "InputError",
    "Where",
    "disk_full_message",
    "require",
]

#: ``OSError.errno`` values that mean the file system has no room left (space or quota).
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True, slots=True)
class Where:
    """The place of bad input: any of a file, a row (or line), a column and a key.

    ``str(Where("runs.csv", 3, "loss", row_label="line"))`` is
    ``"runs.csv line 3, column 'loss'"``.
    """

    file: str | None = None
    row: int | str | None = None
    column: str | None = None
    key: str | None = None
    row_label: str = "row"

    def __str__(self) -> str:
        head = " ".join(
            p
            for p in (self.file, None if self.row is None else f"{self.row_label} {self.row}")
            if p
        )
        tail = [f"column {self.column!r}" if self.column is not None else ""]
        tail.append(f"key {self.key!r}" if self.key is not None else "")
        return ", ".join(p for p in (head, *tail) if p)


class InputError(ValueError):
    """Bad input from a user: a file, a row, a column, a spec key or a flag.

    The message names the place, what was found, what is allowed and the fix.

    Library code says what and where; it does not name command-line flags. ``where`` is the
    place as data, and ``hints`` the fixes as ``(option, text)`` pairs: ``option`` is the
    keyword argument of the Python API the fix concerns (``"columns"``, ``"drop_invalid"``,
    ``"loss_unit"``) and ``text`` says it in Python terms. ``subject`` is an argument the
    message is about, ``(option, Python wording, the value as a user types it)``, e.g.
    ``("where", "where='los < 3'", "'los < 3'")``; it opens the message. ``str(exc)`` is the
    subject's Python wording, ``message`` and each hint's text; the command line
    (``distillscale.cli.errors``) writes the subject and the fixes as flags instead.
    """

    def __init__(
        self,
        message: str,
        *,
        where: Where | None = None,
        hints: tuple[tuple[str, str], ...] = (),
        subject: tuple[str, str, str] | None = None,
    ) -> None:
        self.message = message
        self.where = where
        self.hints = hints
        self.subject = subject
        super().__init__(self.worded(lambda s: s[1], lambda option, text: text))

    def worded(
        self,
        subject: Callable[[tuple[str, str, str]], str],
        fix: Callable[[str, str], str],
    ) -> str:
        """The one-line message, its subject and each fix worded by the caller.

        ``subject`` words the ``subject`` triple and ``fix`` each ``(option, text)`` hint: the
        Python API's words are ``str(exc)``, the command line's flags are
        :func:`distillscale.cli.errors.cli_message`, a study's spec keys
        :func:`distillscale.study.messages.study_message`.
        """
        head = "" if self.subject is None else subject(self.subject)
        return head + self.message + "".join(f"; {fix(o, t)}" for o, t in self.hints)


class DamagedFile(InputError):
    """A file distillscale wrote (checkpoint, logit cache) is damaged or missing.

    Its checksum does not match, it is truncated, or it cannot be parsed. ``path`` is the file;
    a study rebuilds it from the run that wrote it, a single command reports it (exit 2).
    """

    def __init__(self, path: object, message: str) -> None:
        super().__init__(message)
        self.path = str(path)

    def __reduce__(self) -> tuple[type[DamagedFile], tuple[str, str]]:
        return (DamagedFile, (self.path, str(self)))


def disk_full_message(path: object) -> str:
    """The one-line message for a write that found the file system full."""
    return f"disk full: no space left on device writing {path}; free space and rerun"


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
