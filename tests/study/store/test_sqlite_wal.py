"""Switching a fresh SQLite file to WAL while another connection holds the lock."""

import sqlite3
import threading
import time

import pytest

from distillscale.study.store.sqlite import enable_wal


def _locked_file(tmp_path):
    """A file whose exclusive lock is held by a second connection (returned, to release)."""
    path = tmp_path / "runs.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (1)")
    return path, holder


def test_wal_switch_waits_for_the_lock_instead_of_failing(tmp_path):
    path, holder = _locked_file(tmp_path)
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        waiter.execute("PRAGMA journal_mode=WAL")  # what SQLite does without the retry
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    start = time.monotonic()
    enable_wal(waiter.cursor(), timeout_s=10)
    waited = time.monotonic() - start
    release.join()
    assert waited >= 0.2  # it really waited for the holder
    assert waiter.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert waiter.execute("SELECT x FROM t").fetchall() == [(1,)]  # the holder's row survived


def test_wal_switch_gives_up_after_its_timeout(tmp_path):
    path, holder = _locked_file(tmp_path)
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    start = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(waiter.cursor(), timeout_s=0.2)
    assert time.monotonic() - start < 2
    holder.execute("ROLLBACK")
