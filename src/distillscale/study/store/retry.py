"""Riding out a PostgreSQL server that goes away: retry with back-off for a bounded time.

A server restart (or failover, or a network blip) breaks the connections a store holds; the next
statements fail until the server accepts connections again. :func:`retrying` runs one store
operation, and while it fails with a connection-level error (SQLAlchemy's ``OperationalError``
or ``InterfaceError``) it waits 0.5 s, 1 s, 2 s, 4 s, then 5 s between tries, for at most
``bound_s`` seconds (``$DISTILLSCALE_STORE_RETRY_SECONDS``, default 60). Past the bound it raises
:class:`StoreUnreachable` (an ``InputError``: the command line exits 2 with one line). Every store
operation is safe to repeat: see :mod:`distillscale.study.store.store`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from distillscale.errors import InputError
from distillscale.runs import FailureKind, format_failure

__all__ = [
    "DEFAULT_RETRY_SECONDS",
    "RETRY_ENV",
    "StoreUnreachable",
    "retry_seconds",
    "retrying",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Environment variable: seconds a store operation keeps retrying an unreachable server.
RETRY_ENV = "DISTILLSCALE_STORE_RETRY_SECONDS"
#: Default of :data:`RETRY_ENV` (seconds).
DEFAULT_RETRY_SECONDS = 60.0
#: First wait between tries and the cap of its doubling (seconds).
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 5.0

#: Errors that a server coming back can cure (connection refused or dropped, server starting or
#: shutting down, serialisation failures); constraint and programming errors are not retried.
RETRYABLE = (sa_exc.OperationalError, sa_exc.InterfaceError)


class StoreUnreachable(InputError):
    """The store's server stayed unreachable longer than the retry bound; rerun to resume."""


def retry_seconds(value: float | None = None) -> float:
    """The retry bound: ``value`` if given, else ``$DISTILLSCALE_STORE_RETRY_SECONDS``, else 60.

    Raises
    ------
    InputError
        A bound that is not a finite number of seconds >= 0.
    """
    where = "retry_seconds"
    if value is None:
        text = os.environ.get(RETRY_ENV, "").strip()
        if not text:
            return DEFAULT_RETRY_SECONDS
        where = f"${RETRY_ENV}"
        try:
            value = float(text)
        except ValueError:
            value = math.nan
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise InputError(f"{where}: {value!r} is not a number of seconds >= 0 (default 60)")
    return float(value)


def retrying(
    call: Callable[[], T],
    *,
    bound_s: float,
    shown: str,
    scrub: Callable[[str], str],
    on_error: Callable[[], None],
    recheck: Callable[[], T | None] | None = None,
) -> T:
    """Run ``call`` until it succeeds or connection errors have lasted ``bound_s`` seconds.

    Parameters
    ----------
    call : callable
        One store operation (a whole transaction, safe to repeat).
    bound_s : float
        Seconds from the first failure after which to give up (0: one try).
    shown : str
        The store URL with its password redacted, for messages.
    scrub : callable
        Removes the password from a driver message.
    on_error : callable
        Called after each failure (the store drops its pooled connections there).
    recheck : callable or None
        Called before each retry; a result other than None is returned as the operation's (a
        claim whose commit succeeded before its connection broke is found this way).

    Raises
    ------
    StoreUnreachable
        When the bound has passed; the message names the store, the bound and the last error.
    """
    started: float | None = None
    delay = FIRST_DELAY_S
    while True:
        try:
            if started is not None and recheck is not None:
                found = recheck()
                if found is not None:
                    return found
            result = call()
        except RETRYABLE as exc:
            on_error()
            now = time.monotonic()
            reason = scrub(str(getattr(exc, "orig", None) or exc))
            if started is None:
                started = now
                if bound_s > 0:
                    log.warning(
                        "store unreachable: %s: %s; retrying for up to %g s", shown, reason, bound_s
                    )
            left = started + bound_s - now
            if left <= 0:
                raise StoreUnreachable(
                    format_failure(
                        FailureKind.store_unreachable,
                        f"{shown} for {bound_s:g} s: {reason}; rerun to resume "
                        f"(finished runs are kept; ${RETRY_ENV} sets how long to wait)",
                    )
                ) from None
            time.sleep(min(delay, left))
            delay = min(delay * 2, MAX_DELAY_S)
            continue
        if started is not None:
            log.warning("store reachable again after %.1f s: %s", time.monotonic() - started, shown)
        return result
