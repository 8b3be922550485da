"""A throwaway PostgreSQL server for fault tests: initdb in a temp dir, a free port, stop/start.

The fault tests stop and restart a server under a running study, so they never use the shared
server of ``DISTILLSCALE_TEST_PG_URL``. The server runs as the ``postgres`` user when the tests
run as root (PostgreSQL refuses to run as root), with a password that appears nowhere else, so
that a test can search files and output for it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

#: Why the fault tests that need a server of their own are skipped, when they are.
NO_SERVER = (
    "PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin) are not "
    "installed; .ci/run installs them"
)


def binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding initdb and pg_ctl, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """One server in a temporary directory; :meth:`stop` and :meth:`start` at will."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # a password with characters that URLs must percent-encode: it is written encoded in
        # the URL, and the server knows it decoded; neither form may leak
        self.password = f"Sx9-{uuid.uuid4().hex[:10]}/p w"
        self.base = Path(tempfile.mkdtemp(prefix="ds-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        self.base.chmod(0o755)
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_postgres:
            shutil.chown(self.base, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        pwfile.unlink()
        self.start()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        return subprocess.run(
            [*prefix, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    @property
    def url(self) -> str:
        """``postgresql+psycopg://postgres:PASSWORD@127.0.0.1:PORT/postgres``, encoded."""
        return self.database_url("postgres")

    def database_url(self, database: str) -> str:
        """The URL of one database of this server (password percent-encoded)."""
        secret = quote(self.password, safe="")
        return f"postgresql+psycopg://postgres:{secret}@127.0.0.1:{self.port}/{database}"

    def secrets(self) -> list[str]:
        """Every form of the password a leak could take: as the server knows it, as encoded."""
        return [self.password, quote(self.password, safe="")]

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base}"
            " -c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        """Stop the server now (``-m fast``: open sessions are terminated)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def create_database(self) -> str:
        """A fresh database on this server; its URL."""
        import sqlalchemy as sa

        name = f"ds_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.database_url(name)

    def close(self) -> None:
        """Stop the server and delete its directory."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)
