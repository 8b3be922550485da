"""Tables of the run store (SQLAlchemy Core) and the database-clock expression.

Schema version 2:

* ``meta(key, value)`` holds ``schema_version``.
* ``runs``: one row per run (see :class:`~distillscale.study.store.records.RunRecord`).
* ``curves``: one row per logged step, primary key ``(run_id, step)``.
* ``studies(name, study_dir, host, updated_at)``: where each study keeps its checkpoints and
  logit caches (the absolute study directory and the host that recorded it). New in 2.
* ``study_runs(study, run_id)``: the runs of each study's current spec; a study's other runs
  are stale. New in 2.

Version 1 stores (distillscale 0.1.0) are upgraded in place when opened: the two new tables are
created empty and ``schema_version`` becomes 2.

Times are floats, UTC seconds since the Unix epoch, from the database server's clock
(:class:`utc_now`), so that leases compare on one clock whatever the workers' clocks say.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from distillscale.runs import RunKind, RunStatus

__all__ = [
    "SCHEMA_VERSION",
    "curves",
    "meta",
    "metadata",
    "runs",
    "studies",
    "study_runs",
    "utc_now",
]

#: Bumped on any change to the tables; a store written by a newer version is refused.
SCHEMA_VERSION = 2

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("study", sa.Text, nullable=True, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("n_layers", sa.Integer),
    sa.Column("d_model", sa.Integer),
    sa.Column("n_heads", sa.Integer),
    sa.Column("vocab_size", sa.Integer),
    sa.Column("seq_len", sa.Integer),
    sa.Column("params", sa.BigInteger),
    sa.Column("params_total", sa.BigInteger),
    sa.Column("tokens", sa.BigInteger),
    sa.Column("flops_training", sa.Float(precision=53)),
    sa.Column("flops_teacher_inference", sa.Float(precision=53)),
    sa.Column("flops_logit_cache", sa.Float(precision=53)),
    sa.Column("flops_total", sa.Float(precision=53)),
    sa.Column("loss", sa.Float(precision=53)),
    # deferred: register_many may list a student before its teacher within one transaction
    sa.Column(
        "teacher_run_id",
        sa.String(128),
        sa.ForeignKey("runs.run_id", deferrable=True, initially="DEFERRED"),
        nullable=True,
    ),
    sa.Column("teacher_loss", sa.Float(precision=53)),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("failure_reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("claimed_by", sa.Text),
    sa.Column("claim_expires_at", sa.Float(precision=53)),
    sa.Column("started_at", sa.Float(precision=53)),
    sa.Column("finished_at", sa.Float(precision=53)),
    sa.Column("wall_seconds", sa.Float(precision=53)),
    sa.Column("tokens_per_second", sa.Float(precision=53)),
    sa.Column("checkpoint_path", sa.Text),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.CheckConstraint(f"kind IN ({', '.join(repr(k.value) for k in RunKind)})", name="runs_kind"),
    sa.CheckConstraint(
        f"status IN ({', '.join(repr(s.value) for s in RunStatus)})", name="runs_status"
    ),
)

curves = sa.Table(
    "curves",
    metadata,
    sa.Column(
        "run_id", sa.String(128), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("tokens", sa.BigInteger, nullable=False),
    sa.Column("train_loss", sa.Float(precision=53), nullable=False),
    sa.Column("val_loss", sa.Float(precision=53)),
    sa.Column("lr", sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint("run_id", "step", name="curves_pk"),
)

studies = sa.Table(
    "studies",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("study_dir", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
)

study_runs = sa.Table(
    "study_runs",
    metadata,
    sa.Column("study", sa.String(128), nullable=False),
    sa.Column(
        "run_id", sa.String(128), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False
    ),
    sa.PrimaryKeyConstraint("study", "run_id", name="study_runs_pk"),
)


class utc_now(FunctionElement[float]):  # noqa: N801  (reads like a SQL function)
    """The database server's current time, UTC seconds since the epoch (a float)."""

    type = sa.Float(precision=53)
    inherit_cache = True


@compiles(utc_now, "sqlite")
def _utc_now_sqlite(element: utc_now, compiler: Any, **kw: Any) -> str:
    # julianday('now') has millisecond resolution; 2440587.5 is the Julian day of 1970-01-01
    return "((julianday('now') - 2440587.5) * 86400.0)"


@compiles(utc_now, "postgresql")
def _utc_now_postgresql(element: utc_now, compiler: Any, **kw: Any) -> str:
    # clock_timestamp(), not now(): now() is frozen at the transaction's start
    return "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
