from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Iterator

import pytest

from .pg_server import NO_SERVER, ThrowawayPostgres, binaries


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of the fault tests' own (they stop and restart it)."""
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    bindir = binaries()
    if bindir is None:
        pytest.skip(NO_SERVER)
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the server runs as `postgres`
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no `postgres` user to run the server as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root, and `runuser` (util-linux) is missing")
    server = ThrowawayPostgres(bindir)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg(pg_server: ThrowawayPostgres) -> ThrowawayPostgres:
    """The fault tests' server, running (a previous test may have left it stopped)."""
    if not pg_server.running():
        pg_server.start()
    return pg_server
