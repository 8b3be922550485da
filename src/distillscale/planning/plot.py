"""The loss-vs-compute frontier of distillation and supervised training for one student.

matplotlib is an optional extra (``distillscale[report]``), imported only inside
:func:`plot_frontier` through :func:`distillscale.errors.require`; no pyplot state is touched
(a bare :class:`matplotlib.figure.Figure` is drawn and saved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import InputError, Where, require
from distillscale.fitting.result import Fit
from distillscale.planning.distill import TeacherSpec, optimal_recipe
from distillscale.planning.fits import resolve_fit, surfaces
from distillscale.planning.reverse import Threshold, distillation_threshold
from distillscale.planning.surfaces import DistillationSurface

__all__ = ["Frontier", "crossover", "frontier", "plot", "plot_frontier"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Frontier:
    """Best distilled and supervised student loss (nats per token) at each budget (FLOPs)."""

    compute: NDArray[np.float64]
    distilled: NDArray[np.float64]
    supervised: NDArray[np.float64]


def frontier(
    surface: DistillationSurface,
    *,
    student_params: float,
    scenario: str,
    students: int = 1,
    teacher: TeacherSpec | None = None,
    low: float = 1e17,
    high: float = 1e27,
    points: int = 31,
) -> Frontier:
    """Evaluate the optimal recipe on ``points`` log-spaced budgets in ``[low, high]``."""
    budgets = np.exp(np.linspace(math.log(low), math.log(high), points))
    recipes = [
        optimal_recipe(
            surface,
            student_params=student_params,
            compute=float(c),
            scenario=scenario,
            students=students,
            teacher=teacher,
        )
        for c in budgets
    ]
    return Frontier(
        compute=budgets,
        distilled=np.array([r.student_loss for r in recipes]),
        supervised=np.array([r.supervised_loss for r in recipes]),
    )


def _suffix_error(target: Path) -> InputError:
    """``path='a.txt': must end in .png or .svg`` (``--plot 'a.txt'`` on the command line)."""
    return InputError(
        ": must end in .png or .svg",
        subject=("plot", f"path={str(target)!r}", repr(str(target))),
        where=Where(file=str(target)),
    )


def plot_frontier(
    data: Frontier,
    path: str | Path,
    *,
    student_params: float,
    scenario: str,
    threshold: Threshold | None = None,
) -> Path:
    """Write the frontier to ``path`` (``.png`` or ``.svg``) with the crossover marked.

    Raises
    ------
    InputError
        For another file suffix, or when matplotlib is missing (with the pip command).
    """
    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg"):
        raise _suffix_error(target)
    figure_mod = require("matplotlib.figure", "report", "planning.plot")
    fig = figure_mod.Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(data.compute, data.distilled, label=f"distillation ({scenario})", color="C0")
    ax.plot(data.compute, data.supervised, label="supervised (same student)", color="C1")
    if threshold is not None and threshold.compute is not None:
        ax.axvline(threshold.compute, color="0.4", linestyle="--", linewidth=1)
        ax.annotate(
            f"crossover {threshold.compute:.3g} FLOPs",
            xy=(threshold.compute, float(np.nanmax(data.supervised))),
            xytext=(4, -4),
            textcoords="offset points",
            fontsize=8,
            va="top",
        )
    ax.set_xscale("log")
    ax.set_xlabel("compute per student (FLOPs)")
    ax.set_ylabel("student loss (nats per token)")
    ax.set_title(f"student of {student_params:.3g} parameters")
    ax.legend(frameon=False)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target)
    except OSError as exc:  # a file where a folder belongs, a folder named x.png, read-only
        raise InputError(
            f": cannot be written ({exc.strerror or exc}); give a writable file path ending in "
            ".png or .svg",
            subject=("plot", f"path={str(target)!r}", str(target)),
            where=Where(file=str(target)),
        ) from None
    return target


def crossover(data: Frontier) -> Threshold:
    """The first budget where supervised catches up, interpolated in log C between grid points."""
    margin = data.supervised - data.distilled
    low, high = float(data.compute[0]), float(data.compute[-1])
    wins = margin > 0
    if wins.all():
        return Threshold(compute=None, kind="always-distill", low=low, high=high)
    if not wins[0]:
        return Threshold(compute=None, kind="always-supervised", low=low, high=high)
    i = int(np.argmin(wins))
    x0, x1 = math.log(data.compute[i - 1]), math.log(data.compute[i])
    m0, m1 = float(margin[i - 1]), float(margin[i])
    x = x0 + (x1 - x0) * m0 / (m0 - m1)
    return Threshold(compute=math.exp(x), kind="crossover", low=low, high=high)


def plot(
    path: str | Path,
    fit: str | Fit = "@busbridge2025",
    *,
    student_params: float,
    scenario: str = "teacher-pretraining-inference",
    students: int = 1,
    teacher: TeacherSpec | None = None,
    flops: str | None = None,
    low: float = 1e17,
    high: float = 1e27,
) -> Path:
    """Plot the distillation and supervised frontier of one student from a fit to ``path``.

    Parameters
    ----------
    path : str or Path
        Output ``.png`` or ``.svg``.
    fit : str or Fit
        A distillation fit (default ``@busbridge2025``).
    student_params : float
        Student size (parameters).
    scenario : str
        Accounting scenario.
    students : int
        Students sharing the teacher.
    teacher : TeacherSpec, optional
        An existing teacher.
    flops : str, optional
        FLOPs convention (default: the law's own).
    low, high : float
        Budget range, FLOPs.
    """
    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg"):
        raise _suffix_error(target)
    fs = surfaces(resolve_fit(fit), distillation=True, flops=flops, max_samples=0)
    assert fs.distillation is not None
    data = frontier(
        fs.distillation,
        student_params=student_params,
        scenario=scenario,
        students=students,
        teacher=teacher,
        low=low,
        high=high,
    )
    exact = distillation_threshold(
        fs.distillation,
        student_params=student_params,
        scenario=scenario,
        students=students,
        teacher=teacher,
        low=low,
        high=high,
    )
    return plot_frontier(
        data, target, student_params=student_params, scenario=scenario, threshold=exact
    )
