"""SQLite engines for the run store: WAL journal, busy timeout, foreign keys, immediate writes.

Every transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, so that
two processes never both read a row and then fail to upgrade to writing (``SQLITE_BUSY`` that
the busy timeout cannot resolve). Waiting writers queue for up to :data:`BUSY_TIMEOUT_S`.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL

__all__ = ["BUSY_TIMEOUT_S", "enable_wal", "sqlite_engine"]

#: Seconds a writer waits for the lock before failing.
BUSY_TIMEOUT_S = 60.0


def sqlite_engine(url: URL, *, readonly: bool = False) -> sa.Engine:
    """Create an engine on a SQLite file with the store's pragmas.

    Parameters
    ----------
    url : sqlalchemy URL
        ``sqlite:///path``.
    readonly : bool
        For readers (``runs list``, ``runs export``): the journal mode is left as it is (the
        switch to WAL writes to the file) and transactions begin deferred, without the write
        lock.

    Returns
    -------
    sqlalchemy.Engine
        Connections in WAL mode (unless ``readonly``), ``busy_timeout`` set, foreign keys
        enforced.
    """
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from pysqlite so that BEGIN IMMEDIATE below is used
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if not readonly:
            enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def enable_wal(cursor: Any, timeout_s: float = BUSY_TIMEOUT_S) -> None:
    """Switch the database to WAL mode, retrying while another process holds the lock.

    Converting a fresh file to WAL needs an exclusive lock, and SQLite answers ``database is
    locked`` at once, without its busy handler, when two processes convert the same file at
    the same moment. This retries with a short back-off until ``timeout_s`` seconds have passed.

    Parameters
    ----------
    cursor : sqlite3.Cursor
        A cursor on the connection to convert.
    timeout_s : float
        Seconds to keep retrying before re-raising the lock error.
    """
    deadline = time.monotonic() + timeout_s
    delay_s = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            locked = "locked" in str(exc) or "busy" in str(exc)
            if not locked or time.monotonic() + delay_s > deadline:
                raise
        time.sleep(delay_s)
        delay_s = min(delay_s * 2, 0.25)
