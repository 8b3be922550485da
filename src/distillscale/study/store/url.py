"""Store URLs: the default location, path-to-URL, and password redaction for messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from distillscale.errors import InputError

__all__ = ["DEFAULT_STORE", "STORE_ENV", "default_store_url", "redact_url", "to_url"]

#: Environment variable naming the default store (a path or a SQLAlchemy URL).
STORE_ENV = "DISTILLSCALE_STORE"
#: Default store: a SQLite file in the current directory.
DEFAULT_STORE = "distillscale.sqlite"

#: ``://user:password@``. The password runs to the *last* ``@`` on the line, so that a password
#: holding an unencoded ``@`` (or a space) is hidden whole; a line holding two URLs loses the text
#: between them, which is the safe side to err on.
_PASSWORD = re.compile(r"(://[^:/\s]*:)[^\n]*@")


def default_store_url() -> str:
    """``$DISTILLSCALE_STORE`` if set and non-empty, else ``distillscale.sqlite``."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


def redact_url(url: str | Path | URL) -> str:
    """The URL with its password replaced by ``***``, for messages and logs.

    Parameters
    ----------
    url : str, Path or sqlalchemy URL
        A store location.

    Returns
    -------
    str
        Safe to print. Unparseable strings are redacted by pattern (``://user:***@``).
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _PASSWORD.sub(r"\1***@", str(url))


def to_url(url: str | Path) -> URL:
    """Turn a store location into a SQLAlchemy URL.

    A :class:`~pathlib.Path`, or a string without ``://``, is a SQLite file path. A bare
    ``postgresql://`` URL gets the psycopg (version 3) driver.

    Raises
    ------
    sqlalchemy.exc.ArgumentError
        When the string is not a URL SQLAlchemy can parse.
    InputError
        When the location holds a NUL byte, or the user or password holds an unencoded ``@``
        (SQLAlchemy would read the rest of the password as the host name).
    """
    if "\x00" in str(url):
        raise InputError(
            f"store {redact_url(url)!r}: holds a NUL byte; give a file path or a database URL"
        )
    if isinstance(url, Path) or "://" not in str(url):
        return URL.create("sqlite", database=str(Path(url).expanduser().resolve()))
    parsed = sa.make_url(str(url))
    if "@" in (parsed.host or ""):
        raise InputError(
            f"store URL {redact_url(url)!r}: the user name or password holds an '@'; "
            "percent-encode it as %40 (postgresql+psycopg://user:p%40ss@host:port/database)"
        )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed
