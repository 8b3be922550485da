"""Reverse questions: the budget below which distillation wins, and the compute to a target loss.

Both bisect on ``log C`` over the optimal recipe (:func:`distillscale.planning.optimal_recipe`),
whose student loss never rises with compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from distillscale.errors import InputError
from distillscale.planning._args import value_subject
from distillscale.planning._search import bisect_increasing
from distillscale.planning.distill import Recipe, TeacherSpec, check_student, optimal_recipe
from distillscale.planning.supervised import check_target, tokens_for_loss
from distillscale.planning.surfaces import DistillationSurface

__all__ = ["ComputeForLoss", "Threshold", "compute_for_loss", "distillation_threshold"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """Where distillation stops beating supervised training for one student and scenario.

    Parameters
    ----------
    compute : float or None
        Per-student FLOPs at the crossover (operations); None when there is none in the range.
    kind : str
        ``"crossover"`` (distillation wins below ``compute``), ``"always-distill"`` or
        ``"always-supervised"`` over the searched range.
    low, high : float
        The searched range (FLOPs).
    """

    compute: float | None
    kind: str
    low: float
    high: float


def distillation_threshold(
    surface: DistillationSurface,
    *,
    student_params: float,
    scenario: str,
    students: int = 1,
    teacher: TeacherSpec | None = None,
    low: float = 1e17,
    high: float = 1e27,
    points: int = 21,
) -> Threshold:
    """The budget below which distillation beats supervised training (bisection on log C).

    Scans ``points`` log-spaced budgets in ``[low, high]`` for the first sign change of the
    margin ``L_sup - L_S`` from positive to not positive, then bisects it to 1e-6 in log C.
    """

    def margin(log_c: float) -> float:
        r = optimal_recipe(
            surface,
            student_params=student_params,
            compute=math.exp(log_c),
            scenario=scenario,
            students=students,
            teacher=teacher,
        )
        return r.margin

    grid = np.linspace(math.log(low), math.log(high), points)
    margins = np.array([margin(float(x)) for x in grid])
    wins = margins > 0
    if wins.all():
        return Threshold(compute=None, kind="always-distill", low=low, high=high)
    if not wins[0]:
        return Threshold(compute=None, kind="always-supervised", low=low, high=high)
    i = int(np.argmin(wins))  # first budget where supervised wins
    root = bisect_increasing(lambda x: -margin(x), float(grid[i - 1]), float(grid[i]), 16)
    return Threshold(compute=math.exp(root), kind="crossover", low=low, high=high)


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeForLoss:
    """Per-student FLOPs to reach a target loss with and without distillation.

    ``distillation`` / ``supervised`` are None when the target is out of reach that way within
    1e6..1e17 tokens (supervised) or ``high`` FLOPs (distillation).
    """

    target: float
    student_params: float
    scenario: str
    supervised: float | None
    supervised_tokens: float | None
    distillation: float | None
    recipe: Recipe | None

    @property
    def ratio(self) -> float | None:
        """Distillation compute / supervised compute (< 1: distillation is cheaper)."""
        if self.supervised is None or self.distillation is None:
            return None
        return self.distillation / self.supervised


def compute_for_loss(
    surface: DistillationSurface,
    *,
    student_params: float,
    target: float,
    scenario: str,
    students: int = 1,
    teacher: TeacherSpec | None = None,
    low: float = 1e15,
    high: float = 1e30,
) -> ComputeForLoss:
    """The least per-student compute that reaches ``target`` loss, distilled and supervised.

    Supervised: ``D`` solves ``L(N_S, D) = target`` and ``C = 3 F(N_S) D``. Distilled: bisection
    on ``log C`` of the optimal recipe's student loss (non-increasing in C).

    Raises
    ------
    InputError
        When the target is at or below the supervised law's floor ``E``, at or below the lowest
        reachable teacher loss (``L_S > L_T`` always), or out of reach both ways.
    """
    n_s = check_student(student_params)
    sup = surface.supervised
    check_target(sup, target)
    flops = surface.flops
    d = float(tokens_for_loss(sup, np.array([n_s]), target)[0])
    c_sup = float(flops.train(n_s)) * d if math.isfinite(d) else None

    def loss_at(log_c: float) -> float:
        try:
            return optimal_recipe(
                surface,
                student_params=n_s,
                compute=math.exp(log_c),
                scenario=scenario,
                students=students,
                teacher=teacher,
            ).student_loss
        except InputError:  # budget too small for the teacher and 1e6 student tokens
            return math.inf

    lo, hi = math.log(low), math.log(high)
    c_dist: float | None = None
    recipe: Recipe | None = None
    if loss_at(hi) <= target:
        if loss_at(lo) <= target:
            root = lo
        else:
            root = bisect_increasing(lambda x: target - loss_at(x), lo, hi, 40)
            root = min(root + 1e-9, hi)
        c_dist = math.exp(root)
        recipe = optimal_recipe(
            surface,
            student_params=n_s,
            compute=c_dist,
            scenario=scenario,
            students=students,
            teacher=teacher,
        )
    if c_sup is None and c_dist is None:
        raise InputError(
            f" nats/token is out of reach for a {n_s:.3g}-parameter student, supervised or "
            "distilled; raise the target or the student size",
            subject=value_subject("target_loss", f"{target:.4g}"),
        )
    return ComputeForLoss(
        target=float(target),
        student_params=n_s,
        scenario=scenario,
        supervised=c_sup,
        supervised_tokens=d if c_sup is not None else None,
        distillation=c_dist,
        recipe=recipe,
    )
