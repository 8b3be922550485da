"""Ctrl-C (SIGINT) and SIGTERM as one exception, delivered where work can stop cleanly.

:class:`Interrupted` is a :class:`KeyboardInterrupt` that records which signal stopped the work.
The command line installs :func:`handling` around every command: a signal raises
:class:`Interrupted` at once, except inside :func:`deferred` blocks (an optimiser step, the
study driver's loop), where it is only recorded; such code calls :func:`check` at safe points
(after a step, between scheduling rounds), saves its state and lets the exception go up. A
second signal while one is pending raises at once, so a stuck program still stops.

The command line exits with ``128 + signal number``: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["Interrupted", "check", "deferred", "handling", "pending", "received"]

#: The signals handled: Ctrl-C and the polite kill of schedulers, ``timeout`` and ``kill``.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The work was stopped by a signal (SIGINT or SIGTERM); rerunning resumes it.

    Parameters
    ----------
    signum : int
        The signal number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell's status for a command stopped by this signal: 128 + signal number."""
        return 128 + self.signum


class _State:
    """Signals seen by this process's handlers (module-level, one per process)."""

    def __init__(self) -> None:
        self.received: int | None = None  # first signal seen since :func:`handling` began
        self.pending: int | None = None  # a signal recorded inside a deferred block
        self.depth = 0  # nesting of deferred blocks


_state = _State()


def _handler(signum: int, _frame: FrameType | None) -> None:
    if _state.received is None:
        _state.received = signum
    if _state.depth > 0 and _state.pending is None:
        _state.pending = signum  # raised at the next check() or when the block ends
        return
    raise Interrupted(signum)


def _install() -> dict[int, Any] | None:
    """Install :func:`_handler` for SIGINT/SIGTERM; return the previous handlers.

    None when not in the main thread (Python delivers signals only there). A signal ignored
    by the process (``SIG_IGN``, as study workers ignore Ctrl-C) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    previous: dict[int, Any] = {}
    for sig in SIGNALS:
        old = signal.getsignal(sig)
        if old is signal.SIG_IGN or old is _handler:
            continue
        previous[sig] = old
        signal.signal(sig, _handler)
    return previous


def _restore(previous: dict[int, Any] | None) -> None:
    for sig, old in (previous or {}).items():
        signal.signal(sig, old if old is not None else signal.SIG_DFL)


@contextmanager
def handling() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` for the duration of a command."""
    _state.received = None
    _state.pending = None
    _state.depth = 0
    previous = _install()
    try:
        yield
    finally:
        _restore(previous)


@contextmanager
def deferred() -> Iterator[None]:
    """Record SIGINT/SIGTERM instead of raising, until :func:`check` or the end of the block.

    Outside :func:`handling` (a Python caller) the handlers are installed for the block and
    restored after it. A signal still pending when the block ends is raised then.
    """
    previous = _install()
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        _restore(previous)
    if _state.depth == 0:
        check()


def pending() -> int | None:
    """The signal recorded inside a :func:`deferred` block and not yet raised, if any."""
    return _state.pending


def check() -> None:
    """Raise :class:`Interrupted` if a signal is pending (call it where stopping is safe)."""
    signum = _state.pending
    if signum is not None:
        _state.pending = None
        raise Interrupted(signum)


def received() -> int | None:
    """The first signal handled since :func:`handling` began (None if none)."""
    return _state.received
