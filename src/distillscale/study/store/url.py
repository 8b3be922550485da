"""Store URLs: the default location, path-to-URL, and password redaction for messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

__all__ = ["DEFAULT_STORE", "STORE_ENV", "default_store_url", "redact_url", "to_url"]

#: Environment variable naming the default store (a path or a SQLAlchemy URL).
STORE_ENV = "DISTILLSCALE_STORE"
#: Default store: a SQLite file in the current directory.
DEFAULT_STORE = "distillscale.sqlite"

_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


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
    """
    if isinstance(url, Path) or "://" not in str(url):
        return URL.create("sqlite", database=str(Path(url).expanduser().resolve()))
    parsed = sa.make_url(str(url))
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed
