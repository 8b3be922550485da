"""PostgreSQL engines for the run store (psycopg 3 driver, the ``postgres`` extra)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL

from distillscale.errors import require

__all__ = ["CONNECT_TIMEOUT_S", "postgres_engine"]

#: Seconds to wait for a server before reporting it unreachable.
CONNECT_TIMEOUT_S = 10


def postgres_engine(url: URL) -> sa.Engine:
    """Create an engine on a PostgreSQL server.

    Parameters
    ----------
    url : sqlalchemy URL
        ``postgresql+psycopg://user:password@host:port/database``; query options such as
        ``?options=-csearch_path%3Dmyschema`` are passed to the driver.

    Returns
    -------
    sqlalchemy.Engine
        Read-committed connections, checked before use (``pool_pre_ping``).
    """
    if url.drivername.endswith("+psycopg"):
        require("psycopg", "postgres", "a PostgreSQL run store")
    return sa.create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )
