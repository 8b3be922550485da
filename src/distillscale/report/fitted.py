"""The study's fitted laws, loaded through :func:`distillscale.fitting.load_fit`, and predictions.

The report evaluates curves, residuals and bands only through ``Fit.predict``, so it shows
exactly what the fitter and the planner use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.fitting.result import Fit, load_fit

__all__ = ["Prediction", "has_bands", "load_fits", "predict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """Predicted loss (nats per token) and, when the fit has bootstrap samples, its interval."""

    loss: NDArray[np.float64]
    lo: NDArray[np.float64] | None
    hi: NDArray[np.float64] | None


def load_fits(study_dir: Path, names: tuple[str, ...]) -> tuple[dict[str, Fit], list[str]]:
    """Load ``fits/<name>.json`` for each name that exists; unreadable ones become problems."""
    fits: dict[str, Fit] = {}
    problems: list[str] = []
    for name in names:
        path = study_dir / "fits" / f"{name}.json"
        if not path.is_file():
            continue
        try:
            fits[name] = load_fit(path)
        except (InputError, OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"fits/{name}.json could not be loaded as a fit: {exc}")
            log.warning("report: fits/%s.json could not be loaded: %s", name, exc)
    return fits, problems


def predict(
    fit: Fit,
    *,
    params: ArrayLike,
    tokens: ArrayLike,
    teacher_loss: ArrayLike | None = None,
    interval: bool = False,
) -> Prediction:
    """Evaluate a fit at broadcast inputs (non-embedding parameters, tokens, nats per token).

    With ``interval`` (only for fits with ``bootstrap_samples``) the bootstrap percentile
    interval at the fit's ``ci_level`` comes with it.
    """
    kwargs: dict[str, Any] = {"params": params, "tokens": tokens}
    if teacher_loss is not None:
        kwargs["teacher_loss"] = teacher_loss
    if not interval:
        return Prediction(loss=np.asarray(fit.predict(**kwargs), dtype=float), lo=None, hi=None)
    result = fit.predict(**kwargs, interval=True)
    return Prediction(
        loss=np.asarray(result.value, dtype=float),
        lo=np.asarray(result.lower, dtype=float),
        hi=np.asarray(result.upper, dtype=float),
    )


def has_bands(fit: Fit) -> bool:
    """Whether the fit carries bootstrap samples, so that curves can have bands."""
    return fit.bootstrap_samples is not None
