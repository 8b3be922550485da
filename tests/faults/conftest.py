from __future__ import annotations

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
