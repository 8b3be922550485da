"""Run kinds, run states, and the FLOPs phase each kind's training is charged to."""

from __future__ import annotations

from enum import StrEnum

from distillscale.errors import InputError
from distillscale.flops import FlopsLedger

__all__ = ["SUPERVISED_KINDS", "TABLE_KINDS", "RunKind", "RunStatus", "phase_ledger", "phase_of"]


class RunKind(StrEnum):
    """What a run is: the ``kind`` of the run store, of ``runs.csv`` and of ``distillscale train``.

    ``teacher``: a supervised model trained to be distilled from; ``student``: a model distilled
    from a teacher; ``baseline``: a supervised model compute-matched to a student; ``cache``: a
    teacher's logits written once for students to read (no model, store only); ``single``: a
    lone supervised run of ``distillscale train``.
    """

    teacher = "teacher"
    student = "student"
    baseline = "baseline"
    cache = "cache"
    single = "single"


class RunStatus(StrEnum):
    """A stored run's state: registered, claimed by a worker, finished, stopped with a reason."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


#: Kinds a run table may hold (every kind but ``cache``, which trains no model).
TABLE_KINDS: tuple[str, ...] = tuple(k.value for k in RunKind if k is not RunKind.cache)
#: Kinds trained on the data alone (the supervised law's rows).
SUPERVISED_KINDS: tuple[str, ...] = tuple(
    k.value for k in (RunKind.teacher, RunKind.baseline, RunKind.single)
)

_PHASES: dict[str, str] = {
    RunKind.teacher: "teacher_training",
    RunKind.student: "student_training",
    RunKind.baseline: "supervised_training",
    RunKind.single: "supervised_training",
    RunKind.cache: "logit_cache",
}


def phase_of(kind: str) -> str:
    """The :class:`~distillscale.flops.FlopsLedger` field a run of ``kind`` charges its work to.

    Raises
    ------
    InputError
        For a kind that is not a :class:`RunKind`.
    """
    try:
        return _PHASES[kind]
    except KeyError:
        raise InputError(
            f"kind: {kind!r} is not a run kind; use one of {', '.join(RunKind)}"
        ) from None


def phase_ledger(kind: str, work: float, teacher_inference: float = 0.0) -> FlopsLedger:
    """A ledger with ``work`` (operations) in ``kind``'s phase; students add teacher inference.

    ``teacher_inference`` (operations, online teacher forwards) is kept for students only: the
    other kinds read no teacher.
    """
    online = teacher_inference if kind == RunKind.student else 0.0
    return FlopsLedger(**{phase_of(kind): work}, teacher_inference=online)
