"""Atomic file writes: a temporary file beside the target, fsync, then ``os.replace``.

Every file distillscale writes (fits, study tables, checkpoints, logit caches, exports) goes
through here, so a reader finds the old file or the new one, never half of one, and an
interrupted write leaves at most a hidden ``.<name>...tmp`` file beside the target (the study
directory check ignores those). Standard library and :mod:`distillscale.errors` (layer 1).

Disk full. A write that finds the file system full (errno in
:data:`distillscale.errors.DISK_FULL_ERRNOS`) raises an ``OSError`` with that errno whose
``filename`` is the *target* path (not the temporary file), so callers report it with
:func:`distillscale.errors.disk_full_message` naming the file the user knows.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from distillscale.errors import DISK_FULL_ERRNOS

__all__ = ["atomic_open", "atomic_path", "atomic_write", "atomic_write_json", "temp_name"]


def temp_name(path: Path, *, unique: bool = True) -> Path:
    """The hidden temporary file for ``path``: ``.<name>.<pid>.<random>.tmp``, or ``.<name>.tmp``.

    ``unique=False`` gives one fixed name per target, for files that one process at a time
    writes and whose next attempt should overwrite what a killed one left (checkpoints, caches).
    """
    if unique:
        return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    return path.with_name(f".{path.name}.tmp")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, unique: bool = True, fsync: bool = True
) -> Iterator[Path]:
    """Yield a temporary path to write; on a clean exit it replaces ``path``.

    For writers that take a file name (``DataFrame.to_csv``, ``Figure.savefig``, a tokenizer's
    ``save``). The temporary file is fsynced before the rename unless ``fsync=False`` (a caller
    that syncs itself), and removed whatever happens. Raises an ``OSError`` naming ``path`` for
    a full disk (see the module docstring).
    """
    target = Path(path)
    tmp = temp_name(target, unique=unique)
    try:
        yield tmp
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS and exc.filename != str(target):
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    unique: bool = True,
    encoding: str | None = "utf-8",
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing (``"w"`` text, ``"wb"`` bytes); replace ``path`` on exit.

    The handle is flushed and fsynced before the rename; see :func:`atomic_path`.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode {mode!r} is not 'w' or 'wb'")
    with atomic_path(path, unique=unique, fsync=False) as tmp:
        if mode == "wb":
            handle: IO[Any] = open(tmp, "wb")  # noqa: SIM115  closed below
        else:
            handle = open(tmp, "w", encoding=encoding, newline=newline)  # noqa: SIM115
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *, unique: bool = True) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; return ``path``."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w", unique=unique) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], document: Any, **dump: Any) -> Path:
    """Write ``json.dumps(document, **dump)`` to ``path`` atomically; return ``path``.

    ``dump`` goes to :func:`json.dump` unchanged (``indent``, ``sort_keys``, ``allow_nan``), so
    each caller keeps its file's exact bytes.
    """
    with atomic_open(path, "w") as fh:
        json.dump(document, fh, **dump)
    return Path(path)
