"""The run store: runs, claims with leases, results and curves, on SQLite or PostgreSQL.

Open one with :func:`open_store`; see :mod:`distillscale.study.store.store` for the lease rules
and ``docs/store.md`` for the schema and the command line.
"""

from __future__ import annotations

from distillscale.study.store.records import (
    KINDS,
    STATUSES,
    CurveRow,
    RunOutcome,
    RunRecord,
    RunSpecRecord,
)
from distillscale.study.store.retry import RETRY_ENV, StoreUnreachable
from distillscale.study.store.schema import SCHEMA_VERSION
from distillscale.study.store.store import RUN_TABLE_COLUMNS, Store, open_store
from distillscale.study.store.url import DEFAULT_STORE, STORE_ENV, default_store_url, redact_url

__all__ = [
    "DEFAULT_STORE",
    "KINDS",
    "RETRY_ENV",
    "RUN_TABLE_COLUMNS",
    "SCHEMA_VERSION",
    "STATUSES",
    "STORE_ENV",
    "CurveRow",
    "RunOutcome",
    "RunRecord",
    "RunSpecRecord",
    "Store",
    "StoreUnreachable",
    "default_store_url",
    "open_store",
    "redact_url",
]
