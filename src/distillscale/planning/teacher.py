"""Teacher choice: the capacity-gap curve, the optimal teacher loss, and which teacher to use.

The student law depends on the teacher only through its loss ``L_T`` (Busbridge et al. 2025
Eq. 8); ``L_S`` is U-shaped in ``L_T`` (the capacity gap, Sec. 5.2, docs/references.md: Busbridge).
Teacher losses
are searched between the best and worst plannable teachers, ``L(1e17, 1e17)`` and ``L(1e6, 1e6)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.planning._search import minimize_1d
from distillscale.planning.supervised import SupervisedOptimum, cheapest_for_loss
from distillscale.planning.surfaces import DistillationSurface, SupervisedSurface

__all__ = [
    "TEACHER_LOSS_RANGE",
    "TeacherChoice",
    "capacity_gap",
    "check_teacher_loss",
    "choose_teacher",
    "optimal_teacher_loss",
    "teacher_for_loss",
    "teacher_loss_range",
]

Array = NDArray[np.float64]

#: Teacher losses the planner accepts, nats per token. A language model's cross-entropy lies well
#: inside this (ln 256000 = 12.5 nats is a uniform guess over a large vocabulary); a value outside
#: it is a unit mistake (bits, per byte, a percentage) and would overflow the student law's
#: powers of L_T (Busbridge et al. 2025 Eq. 8).
TEACHER_LOSS_RANGE = (0.01, 100.0)


def check_teacher_loss(
    value: float, option: str = "teacher_loss", index: int | None = None
) -> float:
    """Validate a teacher loss (nats per token): finite, inside :data:`TEACHER_LOSS_RANGE`.

    Raises
    ------
    InputError
        Naming ``option`` (the keyword argument it came in, entry ``index`` of a list), the
        value found and the range allowed.
    """
    lo, hi = TEACHER_LOSS_RANGE
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        name = option if index is None else f"{option}[{index}]"
        raise InputError(
            f": not a teacher loss in {lo:g}..{hi:g} nats per token; give the teacher's "
            "held-out cross-entropy in nats (convert bits with x ln 2), e.g. 2.3",
            subject=(option, f"{name}={value!r}", repr(value)),
        )
    return v


def teacher_loss_range(supervised: SupervisedSurface) -> tuple[float, float]:
    """Lowest and highest plannable teacher loss (nats per token): teachers in 1e6..1e17."""
    return float(supervised.loss(1e17, 1e17)), float(supervised.loss(1e6, 1e6))


def capacity_gap(
    surface: DistillationSurface,
    student_params: float,
    student_tokens: float,
    teacher_losses: ArrayLike,
) -> Array:
    """Student loss (nats per token) for each teacher loss: the capacity-gap curve.

    Parameters
    ----------
    surface : DistillationSurface
        Student and supervised laws.
    student_params, student_tokens : float
        Student size N_S (parameters) and distillation tokens D_S.
    teacher_losses : array_like
        Teacher losses L_T (nats per token).
    """
    return surface.student_loss(student_params, student_tokens, np.asarray(teacher_losses, float))


def optimal_teacher_loss(
    surface: DistillationSurface, student_params: float, student_tokens: float
) -> tuple[float, float]:
    """``argmin_{L_T} L_S(N_S, D_S, L_T)`` over plannable teachers.

    Returns
    -------
    log_teacher_loss, student_loss : float
        Natural log of the optimal teacher loss (nats per token) and the student loss it gives.
    """
    lo, hi = teacher_loss_range(surface.supervised)

    def f(log_lt: Array) -> Array:
        return capacity_gap(surface, student_params, student_tokens, np.exp(log_lt))

    return minimize_1d(f, math.log(lo), math.log(hi), n=401)


@dataclass(frozen=True, slots=True, kw_only=True)
class TeacherChoice:
    """Existing teachers ranked for one student.

    Parameters
    ----------
    teacher_losses : tuple of float
        The candidates' losses, nats per token, as given.
    student_losses : tuple of float
        The distilled student's loss with each, nats per token.
    best : int
        Index of the teacher giving the lowest student loss.
    """

    teacher_losses: tuple[float, ...]
    student_losses: tuple[float, ...]
    best: int


def choose_teacher(
    surface: DistillationSurface,
    student_params: float,
    student_tokens: float,
    teacher_losses: Sequence[float],
) -> TeacherChoice:
    """Pick, among existing teachers given by their losses, the one that yields the best student.

    Raises
    ------
    InputError
        When the list is empty or a loss is outside :data:`TEACHER_LOSS_RANGE`.
    """
    if not teacher_losses:
        raise InputError(
            ": the list is empty",
            subject=("teachers", "teachers=[]", ""),
            hints=(
                (
                    "teachers",
                    "give teacher losses in nats per token, e.g. teachers=[2.1, 2.3, 2.5]",
                ),
            ),
        )
    losses = tuple(check_teacher_loss(x, "teachers", i) for i, x in enumerate(teacher_losses))
    student = capacity_gap(surface, student_params, student_tokens, np.array(losses))
    return TeacherChoice(
        teacher_losses=losses,
        student_losses=tuple(float(x) for x in student),
        best=int(np.argmin(student)),
    )


def teacher_for_loss(supervised: SupervisedSurface, teacher_loss: float) -> SupervisedOptimum:
    """The compute-optimal teacher reaching ``teacher_loss`` (nats per token).

    At or below the best plannable teacher loss ``L(1e17, 1e17)`` that teacher itself is
    returned (both at their 1e17 bounds).
    """
    best = float(supervised.loss(1e17, 1e17))
    if teacher_loss <= best * (1 + 1e-9):
        flops = supervised.flops
        return SupervisedOptimum(
            params=1e17,
            tokens=1e17,
            loss=best,
            compute=float(flops.train(1e17)) * 1e17,
            method="bound",
        )
    return cheapest_for_loss(supervised, teacher_loss)
