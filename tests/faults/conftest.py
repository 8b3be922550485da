"""Fixtures of the fault tests, and the tally they print: faults injected, runs lost or wrong.

Every test that injects a fault (a damaged file, a full disk) counts it with ``tally``; a study
test also counts the runs that did not end ``done`` (lost) and the runs whose loss differs
from an undisturbed run (silently wrong). The goal is 0 and 0. ``pg`` is a PostgreSQL server of
the fault tests' own, which they stop and restart.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections import Counter
from collections.abc import Iterator

import pytest

from .pg_server import NO_SERVER, ThrowawayPostgres, binaries

TALLY: Counter[str] = Counter()


@pytest.fixture
def tally() -> Counter[str]:
    """The session's counters: ``faults``, ``lost``, ``wrong``."""
    return TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the tally when a fault test ran."""
    if not TALLY:
        return
    terminalreporter.section("faults")
    terminalreporter.write_line(
        f"faults injected: {TALLY['faults']}, runs lost: {TALLY['lost']}, "
        f"runs silently wrong: {TALLY['wrong']}"
    )


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
