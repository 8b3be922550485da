"""The run vocabulary: kinds, phases, failure kinds and the written columns agree everywhere."""

import pytest

from distillscale.errors import InputError, disk_full_message
from distillscale.flops import FlopsLedger
from distillscale.runs import (
    CUT_SHORT,
    STORE_RUN_COLUMNS,
    STUDY_RUN_COLUMNS,
    TABLE_KINDS,
    FailureKind,
    RunKind,
    format_failure,
    is_cut_short,
    parse_failure,
    phase_ledger,
    phase_of,
)


def test_every_kind_has_one_phase_and_unknown_kinds_are_input_errors():
    assert {k: phase_of(k) for k in RunKind} == {
        "teacher": "teacher_training",
        "student": "student_training",
        "baseline": "supervised_training",
        "cache": "logit_cache",
        "single": "supervised_training",
    }
    with pytest.raises(InputError, match="'pupil' is not a run kind"):
        phase_of("pupil")


def test_phase_ledger_keeps_teacher_inference_for_students_only():
    assert phase_ledger("student", 10.0, 3.0) == FlopsLedger(
        student_training=10.0, teacher_inference=3.0
    )
    assert phase_ledger("baseline", 10.0, 3.0) == FlopsLedger(supervised_training=10.0)
    assert phase_ledger("teacher", 10.0) == FlopsLedger(teacher_training=10.0)


def test_run_tables_hold_every_kind_that_trains_a_model():
    assert TABLE_KINDS == ("teacher", "student", "baseline", "single")


@pytest.mark.parametrize("kind", list(FailureKind))
def test_a_formatted_failure_parses_back(kind):
    reason = format_failure(kind, "detail: with a colon")
    assert parse_failure(reason) == (kind, "detail: with a colon")
    assert is_cut_short(reason) is (kind in CUT_SHORT)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (disk_full_message("/x/y.pt"), FailureKind.disk_full),
        ("diverged at step 12: train cross-entropy 9.1", FailureKind.diverged),
        ("lease expired on attempt 3 of 3 (worker died or stalled)", FailureKind.lease_expired),
        ("interrupted", FailureKind.interrupted),
        ("RuntimeError: boom", None),
        ("interruptedly", None),  # a word that only starts like a kind is not that kind
        ("", None),
        (None, None),
    ],
)
def test_reasons_written_elsewhere_parse_to_their_kind(reason, kind):
    assert parse_failure(reason)[0] is kind


def test_both_written_run_tables_start_with_canonical_columns():
    from distillscale.table import CANONICAL_COLUMNS

    assert set(STUDY_RUN_COLUMNS[:9]) <= set(CANONICAL_COLUMNS)
    assert set(STORE_RUN_COLUMNS[:9]) <= set(CANONICAL_COLUMNS)
    assert STUDY_RUN_COLUMNS[-3:] == STORE_RUN_COLUMNS[17:20]
