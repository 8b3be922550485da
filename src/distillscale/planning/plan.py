"""``distillscale.plan(...)``: one entry point for every planning question.

It returns a :class:`Plan` whose ``to_json()`` is docs/conventions.md's ``plan --json`` document.

* No student size: a supervised plan (compute-optimal N*, D* for a budget; or the cheapest model
  reaching ``target_loss``, optionally with lifetime inference tokens).
* A student size: a distillation recipe per scenario (or the compute needed to reach
  ``target_loss`` with and without distillation), with the teacher choice and, on request, the
  compute threshold below which distillation wins.
* A fit with bootstrap resamples: every planned number gets a percentile interval and the
  verdict the probability that distillation wins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from distillscale.errors import InputError
from distillscale.fitting.result import Fit
from distillscale.flops import SCENARIOS
from distillscale.planning._args import state_subject, value_subject
from distillscale.planning.cost import Hardware, cost_of
from distillscale.planning.distill import (
    Recipe,
    TeacherSpec,
    optimal_recipe,
    supervised_tokens,
)
from distillscale.planning.fits import FitSurfaces, resolve_fit, surfaces
from distillscale.planning.ranges import with_range_checks
from distillscale.planning.results import (
    CompareToLoss,
    DistillationPlan,
    Interval,
    Plan,
    ScenarioTable,
    SupervisedPlan,
    recipe_warnings,
)
from distillscale.planning.reverse import compute_for_loss, distillation_threshold
from distillscale.planning.supervised import (
    SupervisedOptimum,
    cheapest_for_loss,
    compute_optimal,
)
from distillscale.planning.surfaces import DistillationSurface, SupervisedSurface
from distillscale.planning.teacher import (
    TeacherChoice,
    capacity_gap,
    choose_teacher,
    optimal_teacher_loss,
    teacher_for_loss,
    teacher_loss_range,
)

__all__ = ["plan"]


def _percentiles(values: dict[str, list[float]], level: float) -> Interval | None:
    if not values or not next(iter(values.values())):
        return None
    q = [50 * (1 - level), 50 * (1 + level)]
    out: Interval = {}
    for k, v in values.items():
        lo, hi = np.nanpercentile(np.asarray(v, dtype=float), q)
        out[k] = (float(lo), float(hi))
    return out


def _one_question(compute: float | None, target_loss: float | None) -> None:
    """Exactly one of a budget and a loss to reach."""
    if (compute is None) == (target_loss is None):
        found = "neither a budget nor" if compute is None else "both a budget and"
        raise InputError(
            f"plan: {found} a target loss",
            hints=(
                (
                    "compute",
                    "give exactly one of compute= (a FLOPs budget) or target_loss= (a loss to "
                    "reach, nats per token)",
                ),
            ),
        )


# --- supervised -----------------------------------------------------------------------------
def _supervised(
    fs: FitSurfaces,
    compute: float | None,
    target_loss: float | None,
    inference_tokens: float | None,
    device: Hardware | None,
) -> SupervisedPlan:
    _one_question(compute, target_loss)
    if inference_tokens is not None and target_loss is None:
        raise InputError(
            ": the inference-aware optimum (Sardana et al. 2024) fixes a target loss",
            subject=state_subject("inference_tokens", inference_tokens),
            hints=(("target_loss", "add target_loss=L"),),
        )
    solve: Callable[[SupervisedSurface], SupervisedOptimum]
    if compute is not None:
        budget = compute

        def solve(s: SupervisedSurface) -> SupervisedOptimum:
            return compute_optimal(s, budget)

        objective = "compute-optimal"
    else:
        assert target_loss is not None
        target, d_inf = target_loss, inference_tokens or 0.0

        def solve(s: SupervisedSurface) -> SupervisedOptimum:
            return cheapest_for_loss(s, target, d_inf)

        objective = "inference-aware" if inference_tokens else "target-loss"
    best = solve(fs.supervised)
    draws: dict[str, list[float]] = {"params": [], "tokens": [], "tokens_per_param": [], "loss": []}
    for s in fs.samples:
        assert isinstance(s, SupervisedSurface)
        o = solve(s)
        draws["params"].append(o.params)
        draws["tokens"].append(o.tokens)
        draws["tokens_per_param"].append(o.tokens_per_param)
        draws["loss"].append(o.loss)
        if compute is None:
            draws.setdefault("compute", []).append(o.compute)
    total = best.compute + best.inference_flops
    return SupervisedPlan(
        mode="supervised",
        fit=fs.source,
        flops_convention=fs.flops.name,
        cost=None if device is None else cost_of(total, device),
        compute=best.compute,
        params=best.params,
        tokens=best.tokens,
        loss=best.loss,
        objective=objective,
        method=best.method,
        interval=_percentiles(draws, fs.ci_level) if fs.samples else None,
        target_loss=target_loss,
        inference_tokens=inference_tokens,
        inference_flops=best.inference_flops,
    )


# --- distillation ---------------------------------------------------------------------------
_RECIPE_KEYS = (
    "student_tokens",
    "teacher_params",
    "teacher_tokens",
    "teacher_loss",
    "student_loss",
    "supervised_loss",
    "margin",
)


def _distillation(
    fs: FitSurfaces,
    *,
    student_params: float,
    compute: float,
    scenario: str,
    students: int,
    teacher: TeacherSpec | None,
    teachers: Sequence[float] | None,
    threshold: bool,
    device: Hardware | None,
) -> DistillationPlan:
    surface = fs.distillation
    assert surface is not None
    choice: TeacherChoice | None = None
    if teachers is not None:
        d_s = supervised_tokens(surface, student_params, compute)
        choice = choose_teacher(surface, student_params, d_s, teachers)
        teacher = TeacherSpec(loss=choice.teacher_losses[choice.best])

    def solve(s: DistillationSurface) -> Recipe:
        return optimal_recipe(
            s,
            student_params=student_params,
            compute=compute,
            scenario=scenario,
            students=students,
            teacher=teacher,
        )

    recipe = solve(surface)
    keys = [k for k in _RECIPE_KEYS if not (recipe.teacher_given and k.startswith("teacher_"))]
    draws: dict[str, list[float]] = {k: [] for k in keys}
    for s in fs.samples:
        assert isinstance(s, DistillationSurface)
        r = solve(s)
        for k in keys:
            draws[k].append(float(getattr(r, k)))
    p_win = float(np.mean(np.asarray(draws["margin"]) > 0)) if fs.samples else None

    log_lt, ls_star = optimal_teacher_loss(surface, student_params, recipe.student_tokens)
    best_teacher = teacher_for_loss(surface.supervised, math.exp(log_lt))
    lo, hi = teacher_loss_range(surface.supervised)
    # 41 teacher losses from just above the best plannable teacher to 6 nats (or the worst)
    grid = np.exp(np.linspace(math.log(1.0001 * lo), math.log(min(hi, 6.0)), 41))
    curve = capacity_gap(surface, student_params, recipe.student_tokens, grid)
    return DistillationPlan(
        mode="distillation",
        fit=fs.source,
        flops_convention=fs.flops.name,
        cost=None if device is None else cost_of(recipe.flops.total, device),
        warnings=recipe_warnings(recipe),
        recipe=recipe,
        interval=_percentiles(draws, fs.ci_level) if fs.samples else None,
        p_distill_wins=p_win,
        optimal_teacher=best_teacher,
        optimal_teacher_student_loss=ls_star,
        capacity_gap=tuple((float(a), float(b)) for a, b in zip(grid, curve, strict=True)),
        teacher_choice=choice,
        threshold=(
            distillation_threshold(
                surface,
                student_params=student_params,
                scenario=scenario,
                students=students,
                teacher=teacher,
            )
            if threshold
            else None
        ),
    )


def _check_scenario(scenario: str | None, teacher: TeacherSpec | None, teachers: bool) -> str:
    if scenario is None:
        if teachers or (teacher is not None and teacher.params is None):
            return "teacher-free"
        return "teacher-inference" if teacher is not None else "teacher-pretraining-inference"
    if scenario != "all" and scenario not in SCENARIOS:
        raise InputError(
            f": not known; use one of {', '.join(SCENARIOS)} or all",
            subject=value_subject("scenario", repr(scenario), scenario),
        )
    return scenario


def plan(
    fit: str | Fit = "@busbridge2025",
    *,
    compute: float | None = None,
    student_params: float | None = None,
    scenario: str | None = None,
    students: int = 1,
    teacher_loss: float | None = None,
    teacher_params: float | None = None,
    teacher_tokens: float | None = None,
    teachers: Sequence[float] | None = None,
    target_loss: float | None = None,
    inference_tokens: float | None = None,
    flops: str | None = None,
    hardware: Hardware | None = None,
    threshold: bool = False,
    max_samples: int = 100,
) -> Plan:
    """Plan supervised training or distillation with a fitted (or published) law.

    Parameters
    ----------
    fit : str or Fit
        A fit, a ``FIT.json`` path or a published set ``"@name"`` (default ``@busbridge2025``).
    compute : float, optional
        Training budget per model (per student for distillation), FLOPs (operations).
    student_params : float, optional
        Student size N_S (parameters, as the fit counts them). Without it: a supervised plan.
    scenario : str, optional
        ``teacher-free``, ``teacher-inference``, ``teacher-pretraining``,
        ``teacher-pretraining-inference`` or ``all``. Default: ``teacher-pretraining-inference``
        without a teacher, ``teacher-inference`` for a teacher with a size, ``teacher-free`` for a
        teacher given only by its loss or for ``teachers``.
    students : int
        K students sharing one teacher (its pretraining is split K ways).
    teacher_loss, teacher_params, teacher_tokens : float, optional
        An existing teacher: loss (nats per token), size (parameters), pretraining tokens.
    teachers : sequence of float, optional
        Losses of existing teachers (nats per token) to choose from (teacher-free accounting).
    target_loss : float, optional
        Loss to reach (nats per token): supervised mode plans the cheapest model; distillation
        mode the compute needed with and without distillation.
    inference_tokens : float, optional
        Lifetime inference tokens for the inference-aware supervised optimum (Sardana et al.
        2024; its objective is UNVERIFIED, see ``docs/planning.md``).
    flops : str, optional
        ``"6nd"`` or ``"busbridge"``; defaults to the law's own convention.
    hardware : Hardware, optional
        Device assumptions for cost (:func:`distillscale.planning.cost.hardware`).
    threshold : bool
        Also find the compute below which distillation wins (distillation mode).
    max_samples : int
        Cap on bootstrap resamples re-planned for intervals.

    Returns
    -------
    Plan
        :class:`SupervisedPlan`, :class:`DistillationPlan`, :class:`CompareToLoss` or
        :class:`ScenarioTable`.
    """
    f = resolve_fit(fit)
    has_teacher = (
        teacher_loss is not None or teacher_params is not None or teacher_tokens is not None
    )
    if student_params is None:
        extra = [
            name
            for name, on in (
                ("scenario=", scenario is not None),
                ("students=", students != 1),
                ("teacher_loss=/teacher_params=/teacher_tokens=", has_teacher),
                ("teachers=", teachers is not None),
                ("threshold=", threshold),
            )
            if on
        ]
        if extra:
            raise InputError(
                ": only for distillation plans",
                subject=("distillation", ", ".join(extra), ""),
                hints=(("student_params", "add student_params=N_S"),),
            )
        fs = surfaces(f, distillation=False, flops=flops, max_samples=max_samples)
        return with_range_checks(
            _supervised(fs, compute, target_loss, inference_tokens, hardware), f
        )

    if inference_tokens is not None:
        raise InputError(
            ": only for supervised plans",
            subject=state_subject("inference_tokens", inference_tokens),
            hints=(("student_params", "drop student_params="),),
        )
    if has_teacher and teachers is not None:
        raise InputError(
            ": both a list of teachers and one teacher are given",
            subject=state_subject("teachers", teachers),
            hints=(("teachers", "give either teachers= or one teacher, not both"),),
        )
    teacher = (
        TeacherSpec(loss=teacher_loss, params=teacher_params, tokens=teacher_tokens)
        if has_teacher
        else None
    )
    chosen = _check_scenario(scenario, teacher, teachers is not None)
    if teachers is not None and chosen != "teacher-free":
        raise InputError(
            ": teachers given by their losses alone are compared with teacher-free accounting",
            subject=state_subject("teachers", teachers),
            hints=(("scenario", "drop scenario= or use scenario='teacher-free'"),),
        )
    _one_question(compute, target_loss)
    fs = surfaces(f, distillation=True, flops=flops, max_samples=max_samples)
    names = SCENARIOS if chosen == "all" else (chosen,)
    plans: list[Plan] = []
    for name in names:
        if target_loss is not None:
            assert fs.distillation is not None
            result = compute_for_loss(
                fs.distillation,
                student_params=student_params,
                target=target_loss,
                scenario=name,
                students=students,
                teacher=teacher,
            )
            spent = result.distillation or result.supervised or 0.0
            plans.append(
                CompareToLoss(
                    mode="compute-for-loss",
                    fit=fs.source,
                    flops_convention=fs.flops.name,
                    cost=None if hardware is None else cost_of(spent, hardware),
                    warnings=() if result.recipe is None else recipe_warnings(result.recipe),
                    result=result,
                )
            )
        else:
            assert compute is not None
            plans.append(
                _distillation(
                    fs,
                    student_params=student_params,
                    compute=compute,
                    scenario=name,
                    students=students,
                    teacher=teacher,
                    teachers=teachers,
                    threshold=threshold,
                    device=hardware,
                )
            )
    if len(plans) == 1:
        return with_range_checks(plans[0], f)
    return with_range_checks(
        ScenarioTable(
            mode="scenarios", fit=fs.source, flops_convention=fs.flops.name, plans=tuple(plans)
        ),
        f,
    )
