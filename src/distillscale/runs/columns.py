"""The columns of the run tables distillscale writes, in one place.

Both tables start with canonical run-table columns (:data:`distillscale.columns.CANONICAL_NAMES`,
meanings in docs/conventions.md), so :func:`distillscale.table.read_runs` reads either back,
and add extras. The two tables name the teacher link differently, and keep doing so because
files already written and scripts reading them depend on it: a study's ``runs.csv`` calls it
``teacher_run`` (the teacher's run id within the study), ``runs export`` calls it
``teacher_run_id`` (the store's column).
"""

from __future__ import annotations

from distillscale.columns import CANONICAL_NAMES

__all__ = ["CURVE_COLUMNS", "LEDGER_COLUMNS", "STORE_RUN_COLUMNS", "STUDY_RUN_COLUMNS"]

#: Training FLOPs of the run's own phase, online teacher inference, logit caching (operations).
LEDGER_COLUMNS: tuple[str, ...] = ("flops_training", "flops_teacher_inference", "flops_logit_cache")

#: A study's ``runs.csv`` (:func:`distillscale.study.runner.write_tables`).
STUDY_RUN_COLUMNS: tuple[str, ...] = (
    "run",
    "kind",
    "params",
    "tokens",
    "flops",
    "loss",
    "teacher_loss",
    "teacher_params",
    "teacher_tokens",
    "status",
    "teacher_run",
    "n_layers",
    "d_model",
    "wall_seconds",
    *LEDGER_COLUMNS,
)

#: ``distillscale runs export`` (:meth:`distillscale.study.store.Store.run_table`): the
#: canonical columns first (the first eight are joined from the run and its teacher), then the
#: store's own columns.
STORE_RUN_COLUMNS: tuple[str, ...] = (
    "run",
    "params",
    "tokens",
    "flops",
    "loss",
    "teacher_loss",
    "teacher_params",
    "teacher_tokens",
    "kind",
    "study",
    "status",
    "params_total",
    "n_layers",
    "d_model",
    "n_heads",
    "vocab_size",
    "seq_len",
    *LEDGER_COLUMNS,
    "teacher_run_id",
    "wall_seconds",
    "tokens_per_second",
    "checkpoint_path",
)

#: A study's ``curves.csv``: one row per logged step (:class:`distillscale.runs.CurveRow`).
CURVE_COLUMNS: tuple[str, ...] = ("run", "step", "tokens", "train_loss", "val_loss", "lr")

assert set(STUDY_RUN_COLUMNS[:9]) <= set(CANONICAL_NAMES)
assert set(STORE_RUN_COLUMNS[:9]) <= set(CANONICAL_NAMES)
