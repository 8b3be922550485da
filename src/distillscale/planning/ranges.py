"""Range warnings and the absurd-loss refusal for plans (issue 9; see ``fitting.extrapolation``).

A plan is checked against the ranges its fits were fitted on: a supervised optimum's (N*, D*)
against the supervised fit's ``data_range``; a distillation recipe's student (N_S, D_S, L_T)
against the distillation fit's and its teacher (N_T, D_T) against the nested supervised fit's.
Predicted losses above 100 nats per token are refused. Fits without a ``data_range`` (most
published sets) get the absurd-loss check only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from distillscale.fitting.extrapolation import check_absurd, range_warnings
from distillscale.fitting.result import Fit
from distillscale.planning.distill import Recipe
from distillscale.planning.results import (
    CompareToLoss,
    DistillationPlan,
    Plan,
    ScenarioTable,
    SupervisedPlan,
)

__all__ = ["with_range_checks"]

_OPTIMUM = {"params": "params N*", "tokens": "tokens D*"}
_STUDENT = {
    "params": "student params N_S",
    "tokens": "student tokens D_S",
    "teacher_loss": "teacher loss L_T",
}
_TEACHER = {"params": "teacher params N_T", "tokens": "teacher tokens D_T"}


def _recipe_warnings(recipe: Recipe, fit: Fit, name: str) -> list[str]:
    check_absurd(np.array([recipe.student_loss, recipe.supervised_loss]), "loss", name)
    student = {
        "params": recipe.student_params,
        "tokens": recipe.student_tokens,
        "teacher_loss": recipe.teacher_loss,
    }
    out = range_warnings(fit.data_range, student, name, _STUDENT)
    sup = fit.supervised
    if sup is not None and recipe.teacher_params > 0 and recipe.teacher_tokens > 0:
        teacher = {"params": recipe.teacher_params, "tokens": recipe.teacher_tokens}
        out += range_warnings(sup.data_range, teacher, f"{name} (supervised fit)", _TEACHER)
    return out


def with_range_checks(plan: Plan, fit: Fit) -> Plan:
    """``plan`` with range warnings appended to its ``warnings``.

    Raises
    ------
    InputError
        When a planned loss exceeds 100 nats per token.
    """
    name = plan.fit
    extra: list[str] = []
    if isinstance(plan, ScenarioTable):
        return replace(plan, plans=tuple(with_range_checks(p, fit) for p in plan.plans))
    if isinstance(plan, SupervisedPlan):
        sup = fit.supervised if fit.supervised is not None else fit
        check_absurd(np.array([plan.loss]), "loss", name)
        point = {"params": plan.params, "tokens": plan.tokens}
        extra = range_warnings(sup.data_range, point, name, _OPTIMUM)
    elif isinstance(plan, DistillationPlan):
        extra = _recipe_warnings(plan.recipe, fit, name)
    elif isinstance(plan, CompareToLoss) and plan.result.recipe is not None:
        extra = _recipe_warnings(plan.result.recipe, fit, name)
    if not extra:
        return plan
    return replace(plan, warnings=(*plan.warnings, *extra))
