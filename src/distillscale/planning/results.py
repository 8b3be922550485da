"""The plan records :func:`distillscale.plan` returns, and their ``plan --json`` documents.

Keys follow docs/conventions.md (``plan --json``); more keys are added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distillscale.planning.cost import Cost
from distillscale.planning.distill import Recipe
from distillscale.planning.reverse import ComputeForLoss, Threshold
from distillscale.planning.supervised import SupervisedOptimum
from distillscale.planning.teacher import TeacherChoice

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CompareToLoss",
    "DistillationPlan",
    "Interval",
    "Plan",
    "ScenarioTable",
    "SupervisedPlan",
    "recipe_warnings",
]

Interval = dict[str, tuple[float, float]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Base of every plan: where the numbers came from and what they cost.

    Parameters
    ----------
    mode : str
        ``"supervised"``, ``"distillation"``, ``"compute-for-loss"`` or ``"scenarios"``.
    fit : str
        ``"@name"`` or the fit file's path.
    flops_convention : str
        ``"6nd"`` or ``"busbridge"``.
    cost : Cost or None
        Device-hours and price of the plan's FLOPs, when hardware was given.
    warnings : tuple of str
        Soft problems with advice (extrapolation far outside fitted data, bounds hit).
    """

    mode: str
    fit: str
    flops_convention: str
    cost: Cost | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``plan --json`` document (docs/conventions.md), plain JSON data."""
        return {
            "mode": self.mode,
            "fit": self.fit,
            "flops_convention": self.flops_convention,
            "cost": None if self.cost is None else self.cost.to_json(),
        }

    def to_frame(self) -> pd.DataFrame:
        """Quantities as rows with ``value``, ``low``, ``high`` (columns: scenarios, for a table).

        Keys as in :meth:`to_json`, nested ones joined by ``.``.
        """
        from distillscale.planning.notebook import plan_frame

        return plan_frame(self)

    def _repr_html_(self) -> str:
        from distillscale.planning.notebook import plan_html

        return plan_html(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisedPlan(Plan):
    """A supervised training plan: size, tokens and predicted loss (with intervals)."""

    compute: float
    params: float
    tokens: float
    loss: float
    objective: str
    method: str
    interval: Interval | None = None
    target_loss: float | None = None
    inference_tokens: float | None = None
    inference_flops: float = 0.0

    @property
    def tokens_per_param(self) -> float:
        """D*/N* (tokens per parameter)."""
        return self.tokens / self.params

    def to_json(self) -> dict[str, Any]:
        """Keys ``mode compute params tokens tokens_per_param loss interval`` and more."""
        doc = {
            "mode": self.mode,
            "compute": self.compute,
            "params": self.params,
            "tokens": self.tokens,
            "tokens_per_param": self.tokens_per_param,
            "loss": self.loss,
            "interval": _interval_json(self.interval),
            "objective": self.objective,
            "method": self.method,
            "target_loss": self.target_loss,
            "inference_tokens": self.inference_tokens,
            "inference_flops": self.inference_flops,
        }
        return {**doc, **_tail(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class DistillationPlan(Plan):
    """A distillation recipe for one student and scenario, its verdict and its teacher choice."""

    recipe: Recipe
    interval: Interval | None = None
    p_distill_wins: float | None = None
    optimal_teacher: SupervisedOptimum | None = None
    optimal_teacher_student_loss: float | None = None
    capacity_gap: tuple[tuple[float, float], ...] = ()
    teacher_choice: TeacherChoice | None = None
    threshold: Threshold | None = None

    def to_json(self) -> dict[str, Any]:
        """docs/conventions.md distillation keys, plus intervals, teacher choice and threshold."""
        r = self.recipe
        doc: dict[str, Any] = {
            "mode": self.mode,
            "scenario": r.scenario,
            "compute": r.compute,
            "students": r.students,
            "student_params": r.student_params,
            "student_tokens": r.student_tokens,
            "teacher_params": r.teacher_params if r.teacher_params > 0 else None,
            "teacher_tokens": r.teacher_tokens if r.teacher_tokens > 0 else None,
            "teacher_loss": r.teacher_loss,
            "student_loss": r.student_loss,
            "supervised_loss": r.supervised_loss,
            "verdict": r.verdict,
            "margin": r.margin,
            "p_distill_wins": self.p_distill_wins,
            "flops": {
                "student": r.flops.student_training,
                "teacher_inference": r.flops.teacher_inference,
                "teacher_pretraining": r.flops.teacher_training,
            },
            "supervised_tokens": r.supervised_tokens,
            "teacher_given": r.teacher_given,
            "at_bound": list(r.at_bound),
            "interval": _interval_json(self.interval),
        }
        if self.optimal_teacher is not None:
            t = self.optimal_teacher
            doc["optimal_teacher"] = {
                "teacher_loss": t.loss,
                "student_loss": self.optimal_teacher_student_loss,
                "params": t.params,
                "tokens": t.tokens,
                "compute": t.compute,
            }
        if self.capacity_gap:
            doc["capacity_gap"] = [
                {"teacher_loss": lt, "student_loss": ls} for lt, ls in self.capacity_gap
            ]
        if self.teacher_choice is not None:
            c = self.teacher_choice
            doc["teachers"] = {
                "teacher_losses": list(c.teacher_losses),
                "student_losses": list(c.student_losses),
                "best": c.teacher_losses[c.best],
            }
        if self.threshold is not None:
            doc["threshold"] = {
                "compute": self.threshold.compute,
                "kind": self.threshold.kind,
                "range": [self.threshold.low, self.threshold.high],
            }
        return {**doc, **_tail(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CompareToLoss(Plan):
    """Per-student compute to reach a target loss with and without distillation."""

    result: ComputeForLoss

    def to_json(self) -> dict[str, Any]:
        """Target, both computes (FLOPs, None when out of reach) and their ratio."""
        r = self.result
        doc: dict[str, Any] = {
            "mode": self.mode,
            "scenario": r.scenario,
            "target_loss": r.target,
            "student_params": r.student_params,
            "supervised_compute": r.supervised,
            "supervised_tokens": r.supervised_tokens,
            "distillation_compute": r.distillation,
            "ratio": r.ratio,
        }
        if r.recipe is not None:
            doc["recipe"] = {
                "student_tokens": r.recipe.student_tokens,
                "teacher_params": r.recipe.teacher_params,
                "teacher_tokens": r.recipe.teacher_tokens,
                "teacher_loss": r.recipe.teacher_loss,
                "student_loss": r.recipe.student_loss,
            }
        return {**doc, **_tail(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioTable(Plan):
    """One plan per accounting scenario (``--scenario all``)."""

    plans: tuple[Plan, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"mode": "scenarios", "plans": [...]}``."""
        return {"mode": self.mode, "plans": [p.to_json() for p in self.plans], **_tail(self)}


def _tail(p: Plan) -> dict[str, Any]:
    return {
        "fit": p.fit,
        "flops_convention": p.flops_convention,
        "cost": None if p.cost is None else p.cost.to_json(),
        "warnings": list(p.warnings),
    }


def recipe_warnings(r: Recipe) -> tuple[str, ...]:
    """Advice on a recipe: extrapolation to tiny token budgets, and bounds hit."""
    out = []
    m = r.student_tokens / r.student_params
    if m < 1:
        out.append(
            f"{r.scenario}: the student sees {m:.2g} tokens per parameter, far below any fitted "
            "run (Busbridge et al.'s students saw 20 to 320); the predicted loss is an "
            "extrapolation: raise the compute or shrink the student"
        )
    # teacher tokens at 1e17 in teacher-inference is the expected over-trained teacher
    hit = [b for b in r.at_bound if (b, r.scenario) != ("teacher_tokens", "teacher-inference")]
    if hit:
        out.append(
            f"{r.scenario}: {', '.join(hit)} at the 1e6..1e17 search bound; the optimum may lie "
            "beyond it"
        )
    return tuple(out)


def _interval_json(interval: Interval | None) -> dict[str, list[float]] | None:
    if interval is None:
        return None
    return {k: [lo, hi] for k, (lo, hi) in interval.items()}
