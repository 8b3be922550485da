"""The run store: one table of runs with atomic claims and leases, plus training curves.

Lease semantics
---------------
A worker *claims* a run with ``claim(run_id, worker_id, lease_seconds)``. The claim is one
conditional ``UPDATE`` whose ``WHERE`` accepts only a claimable row, and the caller wins exactly
when that statement changed a row, so two workers racing for one run never both win (SQLite
serialises writers; PostgreSQL re-checks the condition on the row a concurrent winner changed).
A row is claimable when it is

* ``pending``; or
* ``failed`` with ``attempts < max_attempts``; or
* ``running`` with an expired lease (``claim_expires_at <= now``: its worker died or stalled)
  and ``attempts < max_attempts``. A dead run that has used all its attempts is marked
  ``failed`` ("lease expired") by the next claim attempt instead.

Each claim increments ``attempts``. The holder extends its lease with ``heartbeat`` (returns
False once another worker took the run over: stop work then). ``complete`` and ``fail`` succeed
only for the worker that holds the claim, expired or not, as long as nobody took it over, so a
slow worker's result is kept; repeating them is harmless. All times come from the database
server's clock (UTC seconds since the epoch), never from the workers'.

Server outages
--------------
On PostgreSQL every operation is retried while the server is unreachable (a restart, a
failover), with back-off, for up to ``retry_seconds`` (:mod:`~distillscale.study.store.retry`);
then :class:`~distillscale.study.store.retry.StoreUnreachable` is raised. Each operation is one
transaction and safe to repeat: registering skips stored runs, heartbeats, results, failures and
curves are idempotent, and a claim whose commit went through before its connection broke is
found on the retry (the run is ``running`` under this worker) instead of being claimed again.
After an operation has given up, the next ones try once until one succeeds (so that a driver on
its way out does not wait again for every run it releases).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL

from distillscale.errors import InputError
from distillscale.runs import STORE_RUN_COLUMNS, FailureKind
from distillscale.study.store import retry
from distillscale.study.store.records import (
    STATUSES,
    CurveRow,
    RunOutcome,
    RunRecord,
    RunSpecRecord,
    ledger_columns,
)
from distillscale.study.store.retry import StoreUnreachable, retrying
from distillscale.study.store.schema import (
    SCHEMA_VERSION,
    curves,
    meta,
    metadata,
    runs,
    studies,
    study_runs,
    utc_now,
)
from distillscale.study.store.url import redact_url, to_url

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RUN_TABLE_COLUMNS", "Store", "open_store"]

logger = logging.getLogger(__name__)

#: Columns of :meth:`Store.run_table`: the canonical run-table columns, then extras.
RUN_TABLE_COLUMNS: tuple[str, ...] = STORE_RUN_COLUMNS

_TEXT_COLUMNS = frozenset({"run", "kind", "study", "status", "teacher_run_id", "checkpoint_path"})
_BACKENDS = ("sqlite", "postgresql")
_RECORD_FIELDS = tuple(f.name for f in fields(RunRecord))
_PG_LOCK_KEY = 0x44535354  # advisory lock serialising schema creation across processes


def _insert(dialect: str) -> Any:
    return pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert


T = TypeVar("T")
P = ParamSpec("P")


def _retried(method: Callable[Concatenate[Store, P], T]) -> Callable[Concatenate[Store, P], T]:
    """Run a store method through :meth:`Store._retry` (one transaction, safe to repeat)."""

    @functools.wraps(method)
    def wrapper(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._retry(lambda: method(self, *args, **kwargs))

    return wrapper


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InputError(f"status: {status!r} is not a run state; use one of {', '.join(STATUSES)}")


def _check_lease(lease_seconds: float) -> float:
    lease = float(lease_seconds)
    if not lease >= 0 or lease == float("inf"):
        raise InputError(f"lease_seconds: {lease_seconds!r} must be a finite number >= 0")
    return lease


class Store:
    """A run store on SQLite or PostgreSQL; create it with :func:`open_store`.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        Engine with the schema in place.
    url : sqlalchemy URL
        Where it points (shown redacted by :attr:`url`).
    retry_seconds : float
        PostgreSQL: how long an operation retries an unreachable server before raising
        :class:`~distillscale.study.store.retry.StoreUnreachable` (seconds).
    """

    def __init__(
        self,
        engine: sa.Engine,
        url: URL,
        *,
        retry_seconds: float = retry.DEFAULT_RETRY_SECONDS,
        study_tables: bool = True,
    ) -> None:
        self._engine = engine
        # False: a schema-1 store opened read-only (no study tables; a study is its named runs)
        self._study_tables = study_tables
        self._url = url
        self._dialect = engine.dialect.name
        self._retry_s = retry_seconds
        self._gave_up = False

    def _retry(self, call: Callable[[], T], recheck: Callable[[], T | None] | None = None) -> T:
        """Run one operation, riding out a PostgreSQL outage (see the module docstring)."""
        if self._dialect != "postgresql":
            return call()
        try:
            result = retrying(
                call,
                bound_s=0.0 if self._gave_up else self._retry_s,
                shown=self.url,
                scrub=lambda text: _scrub(text, self._url),
                on_error=self._engine.dispose,
                recheck=recheck,
            )
        except StoreUnreachable:
            self._gave_up = True
            raise
        self._gave_up = False
        return result

    @property
    def url(self) -> str:
        """The store URL with its password redacted."""
        return redact_url(self._url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._dialect

    def close(self) -> None:
        """Release the store's connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- registering ------------------------------------------------------------------------

    def register(self, run: RunSpecRecord) -> bool:
        """Insert a run unless its ``run_id`` is already stored (idempotent).

        Parameters
        ----------
        run : RunSpecRecord
            The run; its teacher (``teacher_run_id``) must be registered already.

        Returns
        -------
        bool
            True if inserted now, False if it was already there (left unchanged).
        """
        return self.register_many([run]) == 1

    @_retried
    def register_many(self, runs_: Iterable[RunSpecRecord]) -> int:
        """Insert several runs in one transaction, skipping those already stored.

        Parameters
        ----------
        runs_ : iterable of RunSpecRecord
            Runs in any order; each ``teacher_run_id`` must be stored already or be among
            them (the foreign key is checked at commit).

        Returns
        -------
        int
            How many were inserted.
        """
        rows = [self._spec_row(run) for run in runs_]
        if not rows:
            return 0
        insert = _insert(self._dialect)
        inserted = 0
        try:
            with self._engine.begin() as conn:
                for row in rows:
                    stmt = (
                        insert(runs)
                        .values(row)
                        .on_conflict_do_nothing(index_elements=["run_id"])
                        .returning(runs.c.run_id)
                    )
                    # counted from RETURNING: rowcount is unreliable for INSERT ... ON CONFLICT
                    inserted += len(conn.execute(stmt).all())
        except sa_exc.IntegrityError as exc:
            teachers = sorted({r["teacher_run_id"] for r in rows if r["teacher_run_id"]})
            raise InputError(
                f"store {self.url}: cannot register runs: {exc.orig}; a teacher_run_id "
                f"({', '.join(teachers) or 'none'}) must name a run already stored or "
                "registered in the same call"
            ) from exc
        return inserted

    @staticmethod
    def _spec_row(run: RunSpecRecord) -> dict[str, Any]:
        row = {
            name: getattr(run, name)
            for name in (
                "run_id",
                "study",
                "kind",
                "config",
                "n_layers",
                "d_model",
                "n_heads",
                "vocab_size",
                "seq_len",
                "params",
                "params_total",
                "tokens",
                "teacher_run_id",
            )
        }
        row.update(ledger_columns(run.flops))
        row.update(status="pending", attempts=0, created_at=utc_now())
        return row

    # -- claiming ---------------------------------------------------------------------------

    def claim(
        self, run_id: str, worker_id: str, lease_seconds: float, *, max_attempts: int = 3
    ) -> bool:
        """Atomically claim a run for a worker (see the module docstring for the rules).

        Parameters
        ----------
        run_id : str
            The run.
        worker_id : str
            Unique id of the claiming worker (e.g. ``host:pid:uuid``).
        lease_seconds : float
            Seconds the claim lasts without a heartbeat; 0 gives an already-expired lease.
        max_attempts : int
            Claims allowed per run, the first included.

        Returns
        -------
        bool
            True if this worker now holds the run; False if it is held by another worker,
            done, out of attempts, or not registered.
        """
        lease = _check_lease(lease_seconds)
        return self._retry(
            lambda: self._claim(run_id, worker_id, lease, max_attempts),
            recheck=lambda: True if self._holds(run_id, worker_id) else None,
        )

    def _holds(self, run_id: str, worker_id: str) -> bool:
        """Whether ``worker_id`` holds the run now (``running`` under its claim)."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(runs.c.run_id).where(self._held(run_id, worker_id)))
            return row.first() is not None

    def _claim(self, run_id: str, worker_id: str, lease: float, max_attempts: int) -> bool:
        now = utc_now()
        retryable = sa.or_(
            runs.c.status == "failed",
            sa.and_(runs.c.status == "running", runs.c.claim_expires_at <= now),
        )
        claimable = sa.or_(
            runs.c.status == "pending", sa.and_(retryable, runs.c.attempts < max_attempts)
        )
        stmt = (
            sa.update(runs)
            .where(runs.c.run_id == run_id, claimable)
            .values(
                status="running",
                claimed_by=worker_id,
                claim_expires_at=now + lease,
                attempts=runs.c.attempts + 1,
                started_at=now,
                finished_at=None,
                failure_reason=None,
            )
        )
        with self._engine.begin() as conn:
            if conn.execute(stmt).rowcount == 1:
                logger.debug("%s claimed %s for %.1f s", worker_id, run_id, lease)
                return True
            conn.execute(
                sa.update(runs)
                .where(
                    runs.c.run_id == run_id,
                    runs.c.status == "running",
                    runs.c.claim_expires_at <= now,
                    runs.c.attempts >= max_attempts,
                )
                .values(
                    status="failed",
                    failure_reason=f"{FailureKind.lease_expired.value} on attempt "
                    f"{max_attempts} of {max_attempts} (worker died or stalled)",
                    finished_at=now,
                    claim_expires_at=None,
                )
            )
        return False

    @_retried
    def heartbeat(self, run_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Extend the worker's lease to ``now + lease_seconds``.

        Returns
        -------
        bool
            False when the worker no longer holds the run (taken over, or finished).
        """
        lease = _check_lease(lease_seconds)
        stmt = (
            sa.update(runs)
            .where(self._held(run_id, worker_id))
            .values(claim_expires_at=utc_now() + lease)
        )
        with self._engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount == 1)

    @staticmethod
    def _held(run_id: str, worker_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            runs.c.run_id == run_id, runs.c.status == "running", runs.c.claimed_by == worker_id
        )

    @_retried
    def complete(
        self,
        run_id: str,
        worker_id: str,
        result: RunOutcome,
        curve: Sequence[CurveRow] = (),
    ) -> bool:
        """Record a finished run's result, if ``worker_id`` still holds it (idempotent).

        Parameters
        ----------
        run_id : str
            The run.
        worker_id : str
            The worker that claimed it.
        result : RunOutcome
            Loss, tokens, FLOPs, timing, checkpoint.
        curve : sequence of CurveRow
            Logged steps, written in the same transaction as the result: a run is never
            ``done`` without its curve, whenever the writer dies.

        Returns
        -------
        bool
            True if recorded now or already recorded by this worker; False if another worker
            took the run over (its result is the one kept).
        """
        values: dict[str, Any] = {
            "status": "done",
            "loss": result.loss,
            "teacher_loss": sa.func.coalesce(result.teacher_loss, runs.c.teacher_loss),
            "tokens": sa.func.coalesce(result.tokens, runs.c.tokens),
            "wall_seconds": result.wall_seconds,
            "tokens_per_second": result.tokens_per_second,
            "checkpoint_path": result.checkpoint_path,
            "finished_at": utc_now(),
            "claim_expires_at": None,
            "failure_reason": None,
        }
        if result.flops is not None:
            values.update(ledger_columns(result.flops))
        return self._finish(run_id, worker_id, values, "done", curve)

    @_retried
    def fail(self, run_id: str, worker_id: str, reason: str) -> bool:
        """Mark a held run failed with a reason (idempotent); it may be claimed again.

        Returns
        -------
        bool
            True if recorded now or already by this worker; False if it is not held by it.
        """
        return self._finish(run_id, worker_id, _failed(reason), "failed")

    @_retried
    def reopen(self, run_id: str, reason: str) -> bool:
        """Set a ``done`` run back to ``pending``: a file it wrote is damaged and is rebuilt.

        The result columns stay until the rebuilt run completes and overwrites them. Safe to
        retry: a run already reopened for the same reason counts as reopened.

        Returns
        -------
        bool
            True if the run is pending now for this reason; False otherwise (it was not done).
        """
        stmt = (
            sa.update(runs)
            .where(runs.c.run_id == run_id, runs.c.status == "done")
            .values(status="pending", failure_reason=reason, claim_expires_at=None)
        )
        with self._engine.begin() as conn:
            if conn.execute(stmt).rowcount == 1:
                return True
            row = conn.execute(
                sa.select(runs.c.status, runs.c.failure_reason).where(runs.c.run_id == run_id)
            ).first()
        return row is not None and row.status == "pending" and row.failure_reason == reason

    @_retried
    def release(self, run_id: str, worker_id: str, reason: str) -> bool:
        """Give back a held run that a signal cut short: failed with ``reason``, uncounted.

        Like :meth:`fail`, but the claim's attempt is taken back (``attempts - 1``): an
        attempt stopped by Ctrl-C or SIGTERM is not the run's fault and does not count
        against ``max_attempts``. Idempotent.

        Returns
        -------
        bool
            True if recorded now or already by this worker; False if it is not held by it.
        """
        values = _failed(reason)
        values["attempts"] = runs.c.attempts - 1  # a held run was claimed: attempts >= 1
        return self._finish(run_id, worker_id, values, "failed")

    def _finish(
        self,
        run_id: str,
        worker_id: str,
        values: dict[str, Any],
        status: str,
        curve: Sequence[CurveRow] = (),
    ) -> bool:
        with self._engine.begin() as conn:
            if conn.execute(
                sa.update(runs).where(self._held(run_id, worker_id)).values(values)
            ).rowcount:
                if curve:
                    conn.execute(*self._curve_upsert(run_id, curve))
                return True
            row = conn.execute(
                sa.select(runs.c.status, runs.c.claimed_by).where(runs.c.run_id == run_id)
            ).first()
        if row is None:
            raise InputError(f"store {self.url}: run {run_id!r} is not registered")
        return bool(row.status == status and row.claimed_by == worker_id)

    # -- curves -----------------------------------------------------------------------------

    @_retried
    def append_curve(self, run_id: str, rows: Sequence[CurveRow]) -> int:
        """Store logged steps; a step already stored is overwritten, never duplicated.

        Parameters
        ----------
        run_id : str
            A registered run.
        rows : sequence of CurveRow
            Steps to write (a resumed run may resend steps it logged before).

        Returns
        -------
        int
            Rows written.
        """
        if not rows:
            return 0
        try:
            with self._engine.begin() as conn:
                conn.execute(*self._curve_upsert(run_id, rows))
        except sa_exc.IntegrityError as exc:
            raise InputError(
                f"store {self.url}: cannot append curve of run {run_id!r}: {exc.orig}; "
                "register the run first"
            ) from exc
        return len(rows)

    def _curve_upsert(
        self, run_id: str, rows: Sequence[CurveRow]
    ) -> tuple[Any, list[dict[str, Any]]]:
        """The statement and parameters that write ``rows``, overwriting steps already stored."""
        data = [
            {
                "run_id": run_id,
                "step": r.step,
                "tokens": r.tokens,
                "train_loss": r.train_loss,
                "val_loss": r.val_loss,
                "lr": r.lr,
            }
            for r in rows
        ]
        stmt = _insert(self._dialect)(curves)
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "step"],
            set_={c: stmt.excluded[c] for c in ("tokens", "train_loss", "val_loss", "lr")},
        )
        return stmt, data

    @_retried
    def curve(self, run_id: str) -> list[CurveRow]:
        """The stored steps of a run, in step order."""
        stmt = (
            sa.select(
                curves.c.step, curves.c.tokens, curves.c.train_loss, curves.c.val_loss, curves.c.lr
            )
            .where(curves.c.run_id == run_id)
            .order_by(curves.c.step)
        )
        with self._engine.connect() as conn:
            return [CurveRow(**row._asdict()) for row in conn.execute(stmt)]

    # -- reading ----------------------------------------------------------------------------

    @_retried
    def get(self, run_id: str) -> RunRecord | None:
        """The stored run, or None if ``run_id`` is not registered."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
        return None if row is None else RunRecord(**row._asdict())

    # -- studies --------------------------------------------------------------------------

    @_retried
    def set_study_runs(self, study: str, run_ids: Iterable[str]) -> None:
        """Record the runs (and caches) of a study's current spec; its other runs become stale.

        Parameters
        ----------
        study : str
            The study name.
        run_ids : iterable of str
            Registered run ids; the study's membership is replaced by exactly these.
        """
        ids = sorted(set(run_ids))
        insert = _insert(self._dialect)
        with self._engine.begin() as conn:
            conn.execute(sa.delete(study_runs).where(study_runs.c.study == study))
            if ids:  # a concurrent driver's same rows: kept once (no conflict)
                conn.execute(
                    insert(study_runs).on_conflict_do_nothing(index_elements=["study", "run_id"]),
                    [{"study": study, "run_id": i} for i in ids],
                )

    @_retried
    def study_runs(self, study: str) -> set[str] | None:
        """The run ids of a study's current spec; None if no spec was ever recorded for it."""
        if not self._study_tables:  # a schema-1 store read as it is
            return None
        with self._engine.connect() as conn:
            ids = {
                r for (r,) in conn.execute(
                    sa.select(study_runs.c.run_id).where(study_runs.c.study == study)
                )
            }  # fmt: skip
        return ids or None

    @_retried
    def record_study_dir(self, study: str, study_dir: str, host: str) -> tuple[str, str]:
        """Record where a study keeps its files unless recorded already; return the record.

        Parameters
        ----------
        study : str
            The study name.
        study_dir : str
            Absolute path of the study directory.
        host : str
            The recording machine's host name.

        Returns
        -------
        tuple of str
            ``(study_dir, host)`` as stored: the caller's, or those of the first to record.
        """
        stmt = (
            _insert(self._dialect)(studies)
            .values(name=study, study_dir=study_dir, host=host, updated_at=utc_now())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        with self._engine.begin() as conn:
            conn.execute(stmt)
            row = conn.execute(
                sa.select(studies.c.study_dir, studies.c.host).where(studies.c.name == study)
            ).one()
        return str(row.study_dir), str(row.host)

    @_retried
    def move_study_dir(self, study: str, study_dir: str, host: str) -> None:
        """Replace the recorded study directory (the study was moved or copied)."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(studies)
                .where(studies.c.name == study)
                .values(study_dir=study_dir, host=host, updated_at=utc_now())
            )

    def _of_study(self, table: Any, study: str, stale: bool) -> sa.ColumnElement[bool]:
        """Rows of a study: its current runs (or, never recorded, those named with it).

        ``stale`` adds the runs registered under the study's name that its current spec no
        longer has.
        """
        named = table.c.study == study
        if not self._study_tables:  # a schema-1 store read as it is: nothing recorded
            return named
        column = table.c.run_id
        members = sa.select(study_runs.c.run_id).where(study_runs.c.study == study)
        recorded = sa.exists(sa.select(study_runs.c.run_id).where(study_runs.c.study == study))
        current = sa.or_(column.in_(members), sa.and_(~recorded, named))
        return sa.or_(current, named) if stale else current

    @_retried
    def list_runs(
        self, study: str | None = None, status: str | None = None, *, stale: bool = False
    ) -> list[RunRecord]:
        """Stored runs by registration time (ties by run id), optionally of one study and/or status.

        Parameters
        ----------
        study : str or None
            Only this study's runs: those of its current spec (:meth:`set_study_runs`; for a
            study whose spec was never recorded, the runs registered with its name).
        status : str or None
            Only runs in this state (one of ``pending, running, done, failed``).
        stale : bool
            With ``study``: also the runs registered with its name that its current spec no
            longer has (see :meth:`study_runs`).
        """
        _check_status(status)
        stmt = sa.select(runs).order_by(runs.c.created_at, runs.c.run_id)
        if study is not None:
            stmt = stmt.where(self._of_study(runs, study, stale))
        if status is not None:
            stmt = stmt.where(runs.c.status == status)
        with self._engine.connect() as conn:
            return [RunRecord(**row._asdict()) for row in conn.execute(stmt)]

    @_retried
    def run_table(
        self, study: str | None = None, *, status: str | None = "done", stale: bool = False
    ) -> pd.DataFrame:
        """The runs as a pandas DataFrame with the run-table columns of docs/conventions.md.

        Columns are :data:`RUN_TABLE_COLUMNS`: ``run, params`` (non-embedding), ``tokens``,
        ``flops`` (the run's total: own training + teacher inference + logit cache,
        operations), ``loss`` and ``teacher_loss`` (nats per token; a student's teacher_loss
        falls back to its teacher's stored loss), ``teacher_params, teacher_tokens`` (from the
        teacher's row), ``kind``, then extras. Logit-cache rows are left out.

        Parameters
        ----------
        study : str or None
            Only this study's runs (its current spec's, as :meth:`list_runs`).
        status : str or None
            Only runs in this state; default ``"done"`` (runs with a loss). None for all.
        stale : bool
            With ``study``: also its runs that its current spec no longer has.

        Returns
        -------
        pandas.DataFrame
            One row per run, by registration time (ties by run id).
        """
        import pandas as pd

        _check_status(status)
        r = runs.alias("r")
        t = runs.alias("t")
        stmt = (
            sa.select(
                r.c.run_id.label("run"),
                r.c.params,
                r.c.tokens,
                r.c.flops_total.label("flops"),
                r.c.loss,
                sa.func.coalesce(r.c.teacher_loss, t.c.loss).label("teacher_loss"),
                t.c.params.label("teacher_params"),
                t.c.tokens.label("teacher_tokens"),
                *(r.c[name] for name in RUN_TABLE_COLUMNS[8:]),
            )
            .select_from(r.outerjoin(t, r.c.teacher_run_id == t.c.run_id))
            .where(r.c.kind != "cache")
            .order_by(r.c.created_at, r.c.run_id)
        )
        if study is not None:
            stmt = stmt.where(self._of_study(r, study, stale))
        if status is not None:
            stmt = stmt.where(r.c.status == status)
        with self._engine.connect() as conn:
            rows = [tuple(row) for row in conn.execute(stmt)]
        table = pd.DataFrame(rows, columns=list(RUN_TABLE_COLUMNS))
        for column in RUN_TABLE_COLUMNS:
            # missing numbers are NaN (float), not None, so numeric columns stay numeric
            if column not in _TEXT_COLUMNS and table[column].isna().any():
                table[column] = table[column].astype("float64")
        return table


def _scrub(message: str, url: URL) -> str:
    """Remove the password from a driver message, whatever form it takes there."""
    text = redact_url(message)
    if url.password:
        text = text.replace(str(url.password), "***")
    return " ".join(text.split())


def open_store(
    url: str | Path, *, create: bool = True, retry_seconds: float | None = None
) -> Store:
    """Open (and on first use create) a run store.

    Parameters
    ----------
    url : str or Path
        A file path or ``sqlite:///path`` (SQLite, WAL mode), or a PostgreSQL URL
        ``postgresql+psycopg://user:password@host:port/database`` (``postgresql://`` gets the
        psycopg driver).
    create : bool
        Create a missing SQLite file (and its directory) and missing tables. False (readers
        such as ``runs list`` and ``runs export``): nothing is created or changed, and a
        missing file, a file that is not a SQLite database, or a database without the
        store's tables is an error naming it.
    retry_seconds : float or None
        PostgreSQL: seconds an operation keeps retrying a server that went away (restart,
        failover) before raising ``StoreUnreachable``; None: ``$DISTILLSCALE_STORE_RETRY_SECONDS``,
        else 60. Opening does not wait: an unreachable server is an ``InputError`` at once.

    Returns
    -------
    Store
        Ready to use; close it (or use ``with``) when done.

    Raises
    ------
    InputError
        Unparseable URL, unsupported database, missing file, unreachable server, bad
        credentials, or a store written by a newer distillscale. The URL in the message has its
        password redacted.
    """
    shown = redact_url(url)
    bound = retry.retry_seconds(retry_seconds)
    try:
        parsed = to_url(url)
    except sa_exc.ArgumentError as exc:
        raise InputError(
            f"store URL {shown!r} is neither a file path nor a database URL; use a path, "
            "sqlite:///path or postgresql+psycopg://user:password@host:port/database"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in _BACKENDS:
        raise InputError(
            f"store URL {shown!r}: database {backend!r} is not supported; use SQLite (a path "
            "or sqlite:///path) or PostgreSQL (postgresql+psycopg://...)"
        )
    if backend == "sqlite":
        from distillscale.study.store.sqlite import sqlite_engine

        path = Path(parsed.database or "")
        if not path.exists():
            if not create:
                raise InputError(
                    f"store {shown!r}: no such file",
                    hints=(("store", "run a study first, or give the URL of the store you mean"),),
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not create:
            _check_sqlite_file(path, shown)
        engine = sqlite_engine(parsed, readonly=not create)
    else:
        from distillscale.study.store.postgres import postgres_engine

        engine = postgres_engine(parsed)
    study_tables = True
    try:
        if create:
            _init_schema(engine, shown)
        else:
            study_tables = _check_schema(engine, shown)
    except sa_exc.DBAPIError as exc:
        engine.dispose()
        raise InputError(
            f"cannot open run store {redact_url(parsed)!r}: {_scrub(str(exc.orig), parsed)}; "
            "check the path or host, port, user, password and database, and that the server "
            "is running"
        ) from None
    logger.debug("opened run store %s", redact_url(parsed))
    return Store(engine, parsed, retry_seconds=bound, study_tables=study_tables)


def _failed(reason: str) -> dict[str, Any]:
    """Column values of a run that ends ``failed`` with ``reason`` (its claim given up)."""
    return {
        "status": "failed",
        "failure_reason": reason,
        "finished_at": utc_now(),
        "claim_expires_at": None,
    }


#: The first 16 bytes of every SQLite 3 database file.
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_sqlite_file(path: Path, shown: str) -> None:
    """Refuse, without writing to it, a path that is not a SQLite database file."""
    if path.is_dir():
        raise InputError(f"store {shown!r}: is a directory; give the store's file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise InputError(f"store {shown!r}: cannot be read ({exc.strerror or exc})") from None
    if head != _SQLITE_MAGIC:
        raise InputError(
            f"store {shown!r}: not a run store (not a SQLite database); give the store a study "
            "or 'distillscale train --store' wrote"
        )


def _check_schema(engine: sa.Engine, shown: str) -> bool:
    """Check, creating nothing, that the database holds a store this version can read.

    Returns whether it has the study tables of schema 2 (a schema-1 store is read as it is).
    """
    tables = set(sa.inspect(engine).get_table_names())
    missing = sorted({meta.name, runs.name, curves.name} - tables)
    if missing:
        engine.dispose()
        raise InputError(
            f"store {shown!r}: not a run store (no table {', '.join(map(repr, missing))}); give "
            "the store a study or 'distillscale train --store' wrote"
        )
    with engine.connect() as conn:
        version = conn.execute(
            sa.select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar()
    _check_version(engine, version, shown)
    return {studies.name, study_runs.name} <= tables


def _check_version(engine: sa.Engine, version: object, shown: str) -> None:
    if version is None:
        engine.dispose()
        raise InputError(f"store {shown!r}: not a run store (no meta.schema_version)")
    if not str(version).isdigit():
        engine.dispose()
        raise InputError(f"store {shown!r}: meta.schema_version is {version!r}, not an integer")
    if int(str(version)) > SCHEMA_VERSION:
        engine.dispose()
        raise InputError(
            f"store {shown!r} has schema version {version}, newer than this distillscale "
            f"supports ({SCHEMA_VERSION}); upgrade distillscale to read it"
        )


def _init_schema(engine: sa.Engine, shown: str) -> None:
    """Create missing tables and check the schema version, one process at a time."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        metadata.create_all(conn)
        version = conn.execute(
            sa.select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar()
        if version is None:
            conn.execute(sa.insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        if str(version).isdigit() and int(version) < SCHEMA_VERSION:
            # additive upgrade: create_all above made the new tables
            conn.execute(
                sa.update(meta)
                .where(meta.c.key == "schema_version")
                .values(value=str(SCHEMA_VERSION))
            )
            logger.info("upgraded run store %s to schema %d", shown, SCHEMA_VERSION)
            return
    _check_version(engine, version, shown)
