"""Planning over fitted laws: supervised optima, distillation recipes, teacher choice and cost.

Layer 4: imports :mod:`distillscale.laws`, :mod:`distillscale.flops` and
:mod:`distillscale.fitting.result` only. The entry point is :func:`plan`; the solvers in
:mod:`~distillscale.planning.supervised`, :mod:`~distillscale.planning.distill` and
:mod:`~distillscale.planning.teacher` work on plain surfaces
(:mod:`~distillscale.planning.surfaces`) and are usable on their own.
"""

from __future__ import annotations

from distillscale.planning.cost import HARDWARE, Cost, Hardware, cost_of, hardware
from distillscale.planning.distill import Recipe, TeacherSpec, optimal_recipe
from distillscale.planning.measured import MeasuredComparison, compare_measured, verdict_of
from distillscale.planning.plan import plan
from distillscale.planning.results import (
    CompareToLoss,
    DistillationPlan,
    Plan,
    ScenarioTable,
    SupervisedPlan,
)
from distillscale.planning.reverse import Threshold, compute_for_loss, distillation_threshold
from distillscale.planning.supervised import (
    SupervisedOptimum,
    cheapest_for_loss,
    chinchilla_optimum,
    compute_optimal,
)

__all__ = [
    "HARDWARE",
    "CompareToLoss",
    "Cost",
    "DistillationPlan",
    "Hardware",
    "MeasuredComparison",
    "Plan",
    "Recipe",
    "ScenarioTable",
    "SupervisedOptimum",
    "SupervisedPlan",
    "TeacherSpec",
    "Threshold",
    "cheapest_for_loss",
    "chinchilla_optimum",
    "compare_measured",
    "compute_for_loss",
    "compute_optimal",
    "cost_of",
    "distillation_threshold",
    "hardware",
    "optimal_recipe",
    "plan",
    "verdict_of",
]
