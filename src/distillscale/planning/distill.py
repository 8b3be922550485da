"""Compute-optimal distillation recipes and their verdict against supervised training.

Recipes are compared with supervised training of the same student. The threshold and the
compute needed to reach a loss are in :mod:`~distillscale.planning.reverse`.

Problem (Busbridge et al. 2025 Sec. 5.3, docs/references.md: Busbridge): for a student of ``N_S``
parameters and a
per-student budget ``C``, choose ``D_S, N_T, D_T`` in ``[1e6, 1e17]`` to minimise
``L_S(N_S, D_S, L_T = L(N_T, D_T))`` subject to Eq. 9,

``C = 3 F(N_S) D_S + F(N_T) (delta_Lgt D_S + delta_Pre 3 D_T / K)``,

with the scenario switches of :func:`distillscale.flops.scenario_flops` and ``K`` students
sharing one teacher (the teacher's pretraining is split evenly between them; each student still
pays inference on its own tokens). Rather than SLSQP on the constraint, the budget is eliminated:
``D_S`` follows from ``(N_T, D_T)``, and ``(log N_T, log D_T)`` is searched by a dense grid with
zoomed refinement (:func:`~distillscale.planning._search.minimize_2d`): deterministic and robust
across 1e17..1e27 FLOPs. When the teacher costs nothing (``teacher-free``) only ``L_T`` matters:
it is optimised directly and the compute-optimal teacher reaching it is reported.

The supervised baseline trains the same student on the whole budget, ``D = C / (3 F(N_S))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import InputError
from distillscale.flops import SCENARIOS, FlopsLedger, scenario_flops
from distillscale.planning._args import state_subject, value_subject
from distillscale.planning._search import (
    LOG_MAX,
    LOG_MIN,
    minimize_1d,
    minimize_2d,
)
from distillscale.planning.measured import verdict_of
from distillscale.planning.supervised import (
    cheapest_for_loss,
    check_compute,
    tokens_for_loss,
)
from distillscale.planning.surfaces import DistillationSurface
from distillscale.planning.teacher import (
    check_teacher_loss,
    optimal_teacher_loss,
    teacher_for_loss,
    teacher_loss_range,
)

__all__ = [
    "SCENARIOS",
    "Recipe",
    "TeacherSpec",
    "check_student",
    "optimal_recipe",
    "supervised_tokens",
    "switches",
]

Array = NDArray[np.float64]
_BOUND_TOL = 1e-3  # in log units: within 0.1% of a bound counts as "at the bound"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeacherSpec:
    """An existing teacher: its loss, or its size and tokens (from which the loss follows).

    Parameters
    ----------
    loss : float, optional
        Teacher cross-entropy against the data, nats per token.
    params : float, optional
        Teacher parameters (non-embedding for Busbridge sets); needed to price inference.
    tokens : float, optional
        Teacher pretraining tokens; needed to price pretraining.
    """

    loss: float | None = None
    params: float | None = None
    tokens: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """A distillation recipe for one student and its supervised comparison.

    All FLOPs are per student (operations); losses are nats per token; sizes are parameters as
    the fit counts them; tokens are counts.
    """

    scenario: str
    compute: float
    students: int
    student_params: float
    student_tokens: float
    teacher_params: float
    teacher_tokens: float
    teacher_loss: float
    student_loss: float
    supervised_tokens: float
    supervised_loss: float
    flops: FlopsLedger
    teacher_given: bool
    at_bound: tuple[str, ...] = ()

    @property
    def margin(self) -> float:
        """``L_sup - L_S`` (nats per token): positive when distillation wins."""
        return self.supervised_loss - self.student_loss

    @property
    def verdict(self) -> str:
        """``"distill"`` when the distilled student is better, else ``"supervised"``."""
        return verdict_of(self.margin)


def switches(scenario: str) -> tuple[float, float]:
    """``(delta_Lgt, delta_Pre)`` of a scenario, read off the accountant's Eq. 9 ledger."""
    if scenario not in SCENARIOS:
        raise InputError(
            f": not known; use one of {', '.join(SCENARIOS)}",
            subject=value_subject("scenario", repr(scenario), scenario),
        )
    unit = scenario_flops(1.0, 1.0, 1.0, 1.0, scenario)
    return float(unit.teacher_inference), float(unit.teacher_training) / 3.0


def check_student(student_params: float) -> float:
    """Validate a student size (parameters): finite, in ``[1e6, 1e14]``."""
    n = float(student_params)
    if not math.isfinite(n) or not 1e6 <= n <= 1e14:
        raise InputError(
            ": outside 1e6..1e14 parameters (non-embedding for @busbridge2025), e.g. 546e6",
            subject=value_subject("student_params", repr(student_params)),
        )
    return n


def supervised_tokens(surface: DistillationSurface, student_params: float, compute: float) -> float:
    """Tokens the budget buys a student trained alone, ``C / train(N_S)``, capped at 1e17.

    Checks the student size and the budget first, so that nothing is evaluated at an
    out-of-range value.

    Raises
    ------
    InputError
        When the student size or budget is out of range, or the budget buys under 1e6 tokens.
    """
    n_s = check_student(student_params)
    compute = check_compute(compute)
    train_s = float(surface.flops.train(n_s))
    if compute / train_s < 1e6:
        raise InputError(
            f" FLOPs trains a {n_s:.3g}-parameter student on only {compute / train_s:.3g} "
            "tokens (at least 1e6 are planned)",
            subject=value_subject("compute", f"{compute:.3g}"),
            hints=(
                (
                    "compute",
                    f"give compute={train_s * 1e6:.3g} or more, or a smaller student_params=",
                ),
            ),
        )
    return min(compute / train_s, 1e17)


def _positive(given: float | None, option: str, what: str) -> float | None:
    if given is None:
        return None
    v = float(given)
    if not math.isfinite(v) or v <= 0:
        raise InputError(f": must be a positive {what}", subject=value_subject(option, repr(given)))
    return v


def _bounds_hit(**log_values: float) -> tuple[str, ...]:
    return tuple(
        name
        for name, v in log_values.items()
        if abs(v - LOG_MIN) < _BOUND_TOL or abs(v - LOG_MAX) < _BOUND_TOL
    )


def optimal_recipe(
    surface: DistillationSurface,
    *,
    student_params: float,
    compute: float,
    scenario: str,
    students: int = 1,
    teacher: TeacherSpec | None = None,
) -> Recipe:
    """The compute-optimal distillation recipe (or the given teacher's) for one student.

    Parameters
    ----------
    surface : DistillationSurface
        Student law, supervised law and FLOPs convention.
    student_params : float
        Student size N_S (parameters).
    compute : float
        Per-student budget (FLOPs, operations), Eq. 9.
    scenario : str
        One of :data:`SCENARIOS`.
    students : int
        Students sharing one teacher, K >= 1: teacher pretraining is charged ``1/K`` per student.
    teacher : TeacherSpec, optional
        An existing teacher; without it the teacher is optimised too.
    """
    n_s = check_student(student_params)
    compute = check_compute(compute)
    if int(students) < 1:
        raise InputError(
            ": must be an integer >= 1", subject=value_subject("students", repr(students))
        )
    k = int(students)
    lgt, pre = switches(scenario)
    sup = surface.supervised
    flops = surface.flops
    train_s = float(flops.train(n_s))
    d_sup = supervised_tokens(surface, n_s, compute)
    l_sup = float(sup.loss(n_s, d_sup))

    if teacher is not None:
        n_t, d_t, l_t, d_s, l_s = _with_teacher(surface, teacher, n_s, compute, scenario, k)
    elif lgt == 0 and pre == 0:
        # the teacher costs nothing: only its loss matters; report the cheapest one of that loss
        d_s = d_sup
        log_lt, l_s = optimal_teacher_loss(surface, n_s, d_s)
        l_t = math.exp(log_lt)
        opt = teacher_for_loss(sup, l_t)
        n_t, d_t = opt.params, opt.tokens
    else:
        n_t, d_t, d_s, l_s = _search_teacher(surface, n_s, compute, lgt, pre / k)
        l_t = float(sup.loss(n_t, d_t))
    hit = {"student_tokens": math.log(d_s)}
    if teacher is None:
        hit.update(teacher_params=math.log(n_t), teacher_tokens=math.log(d_t))

    f_teacher = float(flops.forward(n_t)) if n_t > 0 else 0.0  # a teacher given by its loss
    ledger = scenario_flops(train_s / 3.0, f_teacher, d_s, d_t, scenario)
    ledger = FlopsLedger(
        student_training=ledger.student_training,
        teacher_inference=ledger.teacher_inference,
        teacher_training=ledger.teacher_training / k,
    )
    return Recipe(
        scenario=scenario,
        compute=compute,
        students=k,
        student_params=n_s,
        student_tokens=d_s,
        teacher_params=n_t,
        teacher_tokens=d_t,
        teacher_loss=l_t,
        student_loss=l_s,
        supervised_tokens=d_sup,
        supervised_loss=l_sup,
        flops=ledger,
        teacher_given=teacher is not None,
        at_bound=_bounds_hit(**hit),
    )


def _with_teacher(
    surface: DistillationSurface,
    teacher: TeacherSpec,
    n_s: float,
    compute: float,
    scenario: str,
    k: int,
) -> tuple[float, float, float, float, float]:
    """``(N_T, D_T, L_T, D_S, L_S)`` for an existing teacher: the budget fixes ``D_S``."""
    lgt, pre = switches(scenario)
    n_t, d_t, l_t = _given_teacher(surface, teacher, lgt, pre)
    f_t = float(surface.flops.forward(n_t)) if n_t > 0 else 0.0
    d_s = (compute - pre * 3.0 * f_t * d_t / k) / (float(surface.flops.train(n_s)) + lgt * f_t)
    if d_s < 1e6:
        raise InputError(
            f" FLOPs leaves {max(d_s, 0):.3g} student tokens after the teacher's costs in "
            f"scenario {scenario}; at least 1e6 are needed",
            subject=value_subject("compute", f"{compute:.3g}"),
            hints=(("compute", "raise compute="),),
        )
    d_s = min(d_s, 1e17)
    return n_t, d_t, l_t, d_s, float(surface.student_loss(n_s, d_s, l_t))


def _given_teacher(
    surface: DistillationSurface, teacher: TeacherSpec, lgt: float, pre: float
) -> tuple[float, float, float]:
    """``(N_T, D_T, L_T)`` of an existing teacher, checking the scenario can price it."""
    n_t = _positive(teacher.params, "teacher_params", "parameter count")
    d_t = _positive(teacher.tokens, "teacher_tokens", "token count")
    l_t = None if teacher.loss is None else check_teacher_loss(teacher.loss)
    if l_t is None:
        if n_t is None or d_t is None:
            raise InputError(
                "teacher: its loss is not given and its size and tokens are incomplete",
                hints=(
                    (
                        "teacher_loss",
                        "give teacher_loss=, or both teacher_params= and teacher_tokens=",
                    ),
                ),
            )
        l_t = float(surface.supervised.loss(n_t, d_t))
    if lgt and n_t is None:
        raise InputError(
            ": the scenario charges teacher inference, which needs the teacher's size",
            subject=state_subject("teacher_params", teacher.params),
            hints=(("teacher_params", "give teacher_params= or use scenario='teacher-free'"),),
        )
    if pre and (n_t is None or d_t is None):
        raise InputError(
            ": the scenario charges teacher pretraining, which needs the teacher's size and tokens",
            subject=state_subject("teacher_tokens", teacher.tokens),
            hints=(
                (
                    "teacher_tokens",
                    "give teacher_params= and teacher_tokens=; an existing teacher is usually "
                    "scenario='teacher-inference'",
                ),
            ),
        )
    return n_t or 0.0, d_t or 0.0, l_t


def _search_teacher(
    surface: DistillationSurface, n_s: float, compute: float, lgt: float, pre: float
) -> tuple[float, float, float, float]:
    """Optimise ``(log N_T, log D_T)`` with ``D_S`` eliminated by the budget."""
    sup = surface.supervised
    flops = surface.flops
    train_s = float(flops.train(n_s))

    def student_tokens(log_nt: Array, log_dt: Array) -> Array:
        f_t = flops.forward(np.exp(log_nt))
        return (compute - pre * 3.0 * f_t * np.exp(log_dt)) / (train_s + lgt * f_t)

    def objective(log_nt: Array, log_dt: Array) -> Array:
        d_s = student_tokens(log_nt, log_dt)
        ok = d_s >= 1e6
        l_t = sup.loss(np.exp(log_nt), np.exp(log_dt))
        l_s = surface.student_loss(n_s, np.clip(d_s, 1e6, 1e17), l_t)
        return np.where(ok, l_s, np.inf)

    def search_2d() -> tuple[float, float, float]:
        u, v, best = minimize_2d(objective, (LOG_MIN, LOG_MIN), (LOG_MAX, LOG_MAX))
        if not math.isfinite(best):
            raise InputError(
                " FLOPs cannot train a teacher and 1e6 student tokens in this scenario",
                subject=value_subject("compute", f"{compute:.3g}"),
                hints=(("compute", "raise compute="),),
            )
        return u, v, best

    if pre == 0:
        # Teacher tokens are free: for any teacher loss the smallest (cheapest to run) teacher
        # reaching it is trained on the most tokens, so D_T sits at its 1e17 bound. Search N_T
        # with D_T pinned there; only when that drives N_T to its lower bound (an even weaker
        # teacher is wanted) can a shorter-trained teacher help, and the 2D search decides.
        u, best = minimize_1d(
            lambda x: objective(x, np.full_like(x, LOG_MAX)), LOG_MIN, LOG_MAX, n=257
        )
        v = LOG_MAX
        if abs(u - LOG_MIN) < _BOUND_TOL or not math.isfinite(best):
            u2, v2, best2 = search_2d()
            if best2 < best - 1e-9:
                u, v, best = u2, v2, best2
    else:
        # The iso-teacher-loss valley is curved and flat in (log N_T, log D_T); in
        # (log N_T, log L_T) it is axis-aligned, so search there, with D_T = D(N_T, L_T).
        l_lo, l_hi = teacher_loss_range(sup)

        def by_loss(log_nt: Array, log_lt: Array) -> Array:
            d_t = tokens_for_loss(sup, np.exp(log_nt), np.exp(log_lt), clip=False)
            ok = np.isfinite(d_t)
            log_dt = np.log(np.where(ok, d_t, 1e6))
            return np.where(ok, objective(log_nt, log_dt), np.inf)

        u, w, best = minimize_2d(by_loss, (LOG_MIN, math.log(l_lo)), (LOG_MAX, math.log(l_hi)))
        if math.isfinite(best):
            v = math.log(float(tokens_for_loss(sup, math.exp(u), math.exp(w), clip=False)))
        else:
            u, v, best = search_2d()  # raises the budget error, or finds an edge solution
        if lgt == 0:
            # Teacher pretraining only: among teachers of the loss found, the cheapest to train
            # leaves the most compute to the student, so it is at least as good (and removes
            # the search's flat direction along the iso-loss curve).
            cheap = cheapest_for_loss(sup, float(sup.loss(math.exp(u), math.exp(v))))
            cu, cv = math.log(cheap.params), math.log(cheap.tokens)
            value = float(objective(np.array(cu), np.array(cv)))
            if value <= best + 1e-9:
                u, v, best = cu, cv, min(value, best)
    d_s = float(student_tokens(np.array(u), np.array(v)))
    return math.exp(u), math.exp(v), min(d_s, 1e17), best
