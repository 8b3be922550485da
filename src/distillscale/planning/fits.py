"""Surfaces from fit artifacts and published sets, and per-bootstrap-sample surfaces.

A ``distillation`` fit carries its supervised fit (``Fit.supervised``); a supervised question
asked of it uses that nested fit. Bootstrap resamples of a distillation fit are paired row by
row with its supervised fit's resamples when both have the same count; otherwise the supervised
point estimate is used with every student resample (stated in ``docs/planning.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distillscale.errors import InputError
from distillscale.fitting.result import Fit, load_fit
from distillscale.planning._args import fit_where
from distillscale.planning.surfaces import (
    DistillationSurface,
    FlopsConvention,
    SupervisedSurface,
    default_convention,
    distillation_surface,
    flops_convention,
    supervised_surface,
)

__all__ = ["FitSurfaces", "resolve_fit", "surfaces"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FitSurfaces:
    """The surfaces of one fit: its point estimate and up to ``max_samples`` resamples.

    Parameters
    ----------
    source : str
        ``"@name"`` or the fit file's path.
    law : str
        The fit's law.
    flops : FlopsConvention
        FLOPs convention used throughout.
    supervised : SupervisedSurface
        Point-estimate supervised surface.
    distillation : DistillationSurface or None
        Point-estimate student surface (distillation fits only).
    samples : tuple of SupervisedSurface or DistillationSurface
        One surface per used bootstrap resample (empty without resamples).
    ci_level : float
        Coverage for intervals over ``samples``.
    """

    source: str
    law: str
    flops: FlopsConvention
    supervised: SupervisedSurface
    distillation: DistillationSurface | None
    samples: tuple[SupervisedSurface | DistillationSurface, ...]
    ci_level: float


def resolve_fit(fit: str | Fit) -> Fit:
    """A :class:`Fit` from itself, a path or ``"@name"``."""
    return fit if isinstance(fit, Fit) else load_fit(fit)


def _rows(samples: np.ndarray | None, max_samples: int) -> np.ndarray:
    """Indices of at most ``max_samples`` resamples, evenly strided (deterministic)."""
    if samples is None or max_samples <= 0:
        return np.zeros(0, dtype=int)
    k = samples.shape[0]
    if k <= max_samples:
        return np.arange(k)
    return np.unique(np.linspace(0, k - 1, max_samples).round().astype(int))


def surfaces(
    fit: Fit, *, distillation: bool, flops: str | None = None, max_samples: int = 200
) -> FitSurfaces:
    """Build the point and per-resample surfaces of ``fit`` for a supervised or distillation plan.

    Parameters
    ----------
    fit : Fit
        Any fit of a law of ``params`` and ``tokens`` (supervised plans) or a ``distillation``
        fit (distillation plans).
    distillation : bool
        Whether the question is about distillation.
    flops : str, optional
        ``"6nd"`` or ``"busbridge"``; defaults to the law's own convention.
    max_samples : int
        Cap on resamples re-planned (evenly strided when there are more).

    Raises
    ------
    InputError
        When the fit's law cannot answer the question.
    """
    source = fit.source or "<fit>"
    subject = ("fit", f"fit={source!r}", source)
    where = fit_where(source)
    sup_fit = fit.supervised if fit.law == "distillation" else fit
    if distillation and fit.law != "distillation":
        raise InputError(
            f": a {fit.law!r} fit cannot answer a distillation question (one with a student size)",
            subject=subject,
            where=where,
            hints=(
                (
                    "fit",
                    "use a distillation fit such as fit='@busbridge2025', or drop "
                    "student_params= for a supervised plan",
                ),
            ),
        )
    if sup_fit is None:
        raise InputError(
            ": the distillation fit has no nested supervised fit", subject=subject, where=where
        )
    convention = flops_convention(flops or default_convention(fit.law))
    try:
        sup = supervised_surface(sup_fit.law, sup_fit.params, convention)
        dist = distillation_surface(fit.law, fit.params, sup) if distillation else None
        samples = _sample_surfaces(fit, sup_fit, sup, convention, distillation, max_samples)
    except InputError as exc:
        if exc.subject is not None and exc.subject[0] == "fit":
            raise
        inner = exc.message if exc.subject is None else exc.subject[1] + exc.message
        raise InputError(
            f": {inner}", subject=subject, where=exc.where or where, hints=exc.hints
        ) from None
    return FitSurfaces(
        source=source,
        law=fit.law,
        flops=convention,
        supervised=sup,
        distillation=dist,
        samples=samples,
        ci_level=float(fit.ci_level or 0.9),
    )


def _sample_surfaces(
    fit: Fit,
    sup_fit: Fit,
    sup: SupervisedSurface,
    convention: FlopsConvention,
    distillation: bool,
    max_samples: int,
) -> tuple[SupervisedSurface | DistillationSurface, ...]:
    """One surface per used bootstrap resample (paired with the supervised fit's when it can)."""
    samples: list[SupervisedSurface | DistillationSurface] = []
    rows = _rows(fit.bootstrap_samples, max_samples)
    if len(rows):
        assert fit.bootstrap_samples is not None
        names = fit.param_names or fit.law_obj.param_names
        sup_samples = sup_fit.bootstrap_samples
        paired = (
            fit is not sup_fit
            and sup_samples is not None
            and sup_samples.shape[0] == fit.bootstrap_samples.shape[0]
        )
        sup_names = sup_fit.param_names or sup_fit.law_obj.param_names
        for r in rows:
            values = dict(zip(names, map(float, fit.bootstrap_samples[r]), strict=True))
            if not distillation:
                samples.append(supervised_surface(sup_fit.law, values, convention))
                continue
            sup_r = sup
            if paired and sup_samples is not None:
                sv = dict(zip(sup_names, map(float, sup_samples[r]), strict=True))
                sup_r = supervised_surface(sup_fit.law, sv, convention)
            samples.append(distillation_surface(fit.law, values, sup_r))
    return tuple(samples)
