"""The run vocabulary shared by the run table, the trainer, the study and the command line.

Torch-free and pandas-free (standard library, :mod:`distillscale.flops` and
:mod:`distillscale.columns`): what kinds of runs there are (:class:`RunKind`), the states a
stored run moves through (:class:`RunStatus`), why a run stopped (:class:`FailureKind`, with
:func:`format_failure`/:func:`parse_failure`), which FLOPs phase a run's training belongs to
(:func:`phase_of`, :func:`phase_ledger`), the columns of the tables distillscale writes
(:data:`STUDY_RUN_COLUMNS`, :data:`STORE_RUN_COLUMNS`, :data:`CURVE_COLUMNS`), one logged
training step (:class:`CurveRow`) and what the trainer writes those to (:class:`RunSink`);
and the records of one run: its complete configuration (:class:`RunConfig`, with
:class:`DataConfig`, :class:`KDConfig`, :class:`TeacherRef`; its canonical JSON hashes to the
run id) and what it hands back (:class:`RunResult`, :class:`ProgressEvent`, :class:`CacheInfo`).
"""

from __future__ import annotations

from distillscale.runs.columns import CURVE_COLUMNS, STORE_RUN_COLUMNS, STUDY_RUN_COLUMNS
from distillscale.runs.config import DataConfig, KDConfig, RunConfig, TeacherRef
from distillscale.runs.curve import CurveRow, curve_row
from distillscale.runs.failures import (
    CUT_SHORT,
    FailureKind,
    format_failure,
    is_cut_short,
    parse_failure,
)
from distillscale.runs.kinds import (
    SUPERVISED_KINDS,
    TABLE_KINDS,
    RunKind,
    RunStatus,
    phase_ledger,
    phase_of,
)
from distillscale.runs.result import CacheInfo, CurvePoint, ProgressEvent, RunResult
from distillscale.runs.sink import RunSink

__all__ = [
    "CacheInfo",
    "CurvePoint",
    "DataConfig",
    "KDConfig",
    "ProgressEvent",
    "RunConfig",
    "RunResult",
    "TeacherRef",
    "CURVE_COLUMNS",
    "CUT_SHORT",
    "STORE_RUN_COLUMNS",
    "STUDY_RUN_COLUMNS",
    "SUPERVISED_KINDS",
    "TABLE_KINDS",
    "CurveRow",
    "FailureKind",
    "RunKind",
    "RunSink",
    "RunStatus",
    "curve_row",
    "format_failure",
    "is_cut_short",
    "parse_failure",
    "phase_ledger",
    "phase_of",
]
