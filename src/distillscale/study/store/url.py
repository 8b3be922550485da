"""Store URLs: the default location, path-to-URL, and password redaction for messages and files."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from distillscale.errors import InputError

__all__ = [
    "DEFAULT_STORE",
    "STORE_ENV",
    "default_store_url",
    "redact_document",
    "redact_text",
    "redact_url",
    "to_url",
]

#: Environment variable naming the default store (a path or a SQLAlchemy URL).
STORE_ENV = "DISTILLSCALE_STORE"
#: Default store: a SQLite file in the current directory.
DEFAULT_STORE = "distillscale.sqlite"

#: ``://user:password@``. The password runs to the *last* ``@`` on the line, so that a password
#: holding an unencoded ``@`` (or a space) is hidden whole; a line holding two URLs loses the text
#: between them, which is the safe side to err on.
_PASSWORD = re.compile(r"(://[^:/\s]*:)[^\n]*@")
#: Passwords shorter than this are not searched for outside URLs: they would match ordinary
#: words (and are no secret to speak of); inside a URL every password is redacted.
_MIN_SECRET_CHARS = 4


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


def _passwords(url: str | Path | URL | None) -> list[str]:
    """The password of ``url`` as written and percent-decoded (empty when it has none)."""
    if url is None or isinstance(url, Path):
        return []
    if isinstance(url, URL):
        return [str(url.password)] if url.password else []
    found = []
    written = re.search(r"://[^:/\s]*:([^\n]*)@", url)
    if written:
        found.append(written.group(1))
    try:
        decoded = sa.make_url(url).password
    except Exception:  # noqa: BLE001  any unparseable URL: the written form is all there is
        decoded = None
    if decoded:
        found.append(str(decoded))
    return sorted({p for p in found if len(p) >= _MIN_SECRET_CHARS}, key=len, reverse=True)


def redact_text(text: str, url: str | Path | URL | None = None) -> str:
    """``text`` with every URL password replaced by ``***``, for files a study writes.

    Every ``://user:password@`` is redacted (as in :func:`redact_url`), and the password of
    ``url`` (the store location, as written and percent-decoded) is replaced wherever else it
    occurs, e.g. in a YAML string folded over two lines. Passwords under four characters are
    only redacted inside URLs.

    Parameters
    ----------
    text : str
        Any text (a copy of a spec, a message).
    url : str, Path, sqlalchemy URL or None
        The store location whose password must not appear.
    """
    text = _PASSWORD.sub(r"\1***@", text)
    for secret in _passwords(url):
        text = text.replace(secret, "***")
    return text


def redact_document(document: Any, url: str | Path | URL | None = None) -> Any:
    """A copy of a JSON-like document with :func:`redact_text` applied to every string in it."""
    if isinstance(document, str):
        return redact_text(document, url)
    if isinstance(document, dict):
        return {
            (redact_text(k, url) if isinstance(k, str) else k): redact_document(v, url)
            for k, v in document.items()
        }
    if isinstance(document, list | tuple):
        return [redact_document(v, url) for v in document]
    return document


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
