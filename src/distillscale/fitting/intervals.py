"""Prediction intervals for a new run's observed loss: parameter uncertainty plus residual scatter.

A bootstrap percentile band of the fitted curve (``Fit.predict(..., interval=True).lower``,
``.upper``; ``"interval"`` in ``predict --json``) is a *confidence* interval of the mean curve:
it carries parameter uncertainty only, so it is far too narrow for where one new run will land
(on public run tables it covered 61% of held-out runs at 90% nominal). The *prediction*
interval adds the scatter of runs around the curve:

    log y_new = log f(x; theta_k) + e_j,

for every bootstrap resample k (parameter uncertainty) and every e_j of the fitted runs'
log-residual distribution log(observed / predicted) (scatter), and takes the percentiles of all
K x Q combinations. The residuals are the empirical ones, not a normal with a robust scale:
run tables have heavier tails than a normal (a few runs off by several sigma), and the
empirical quantiles carry them. Residuals of a fit are smaller than those of new runs (the fit
used p free parameters to match n runs), so their spread about the median is inflated by
sqrt(n / (n - p)), the usual degrees-of-freedom correction.

The fit stores only ``N_QUANTILES`` (101) quantiles of that inflated distribution (0%, 1%, ...,
100%), key ``residual_quantiles`` of the ``distillscale.fit/1`` artifact, in log units (a value
of 0.01 is 1% above the curve).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import InputError

__all__ = ["N_QUANTILES", "prediction_band", "read_residual_quantiles", "residual_quantiles"]

#: Quantiles of the log-residual distribution kept in a fit (0%, 1%, ..., 100%).
N_QUANTILES = 101
#: Elements of the (K Q, n) array of combinations built at once.
_CHUNK = 4_000_000


def residual_quantiles(log_residuals: NDArray[np.float64], n_free: int) -> NDArray[np.float64]:
    """Quantiles of log(observed / predicted) for a new run, shape (N_QUANTILES,).

    Parameters
    ----------
    log_residuals : ndarray, shape (n,)
        log prediction - log observation at the fitted runs (the objective's residuals).
    n_free : int
        Free parameters p of the fit; the spread about the median is scaled by
        sqrt(n / (n - p)) (1 when n <= p).
    """
    e = -np.asarray(log_residuals, dtype=float)
    e = e[np.isfinite(e)]
    if e.size == 0:
        return np.zeros(N_QUANTILES)
    n = e.size
    inflate = math.sqrt(n / (n - n_free)) if n > n_free else 1.0
    q = np.quantile(e, np.linspace(0.0, 1.0, N_QUANTILES))
    med = float(np.median(e))
    return med + (q - med) * inflate


def prediction_band(
    log_pred: NDArray[np.float64], quantiles: NDArray[np.float64], level: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Percentile prediction interval of a new observation at each point.

    Parameters
    ----------
    log_pred : ndarray, shape (K, n)
        Log predictions of K bootstrap resamples at n points (NaN where not finite).
    quantiles : ndarray, shape (Q,)
        Log-residual quantiles of the fit (:func:`residual_quantiles`).
    level : float
        Coverage, e.g. 0.9 for the 5th to 95th percentile.

    Returns
    -------
    lower, upper : ndarray, shape (n,)
        Bounds in the prediction's own units (nats per token for a loss), not logs.
    """
    k, n = log_pred.shape
    q = np.asarray(quantiles, dtype=float)
    pct = [50 * (1 - level), 50 * (1 + level)]
    lo = np.empty(n)
    hi = np.empty(n)
    step = max(1, _CHUNK // max(1, k * q.size))
    for a in range(0, n, step):
        b = min(n, a + step)
        z = (log_pred[:, None, a:b] + q[None, :, None]).reshape(k * q.size, b - a)
        lo[a:b], hi[a:b] = np.nanpercentile(z, pct, axis=0)
    return np.exp(lo), np.exp(hi)


def read_residual_quantiles(where: str, value: Any) -> NDArray[np.float64] | None:
    """The artifact's ``residual_quantiles``: null, or N_QUANTILES finite non-decreasing numbers."""
    if value is None:
        return None
    ok = (
        isinstance(value, list)
        and len(value) == N_QUANTILES
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )
    if ok and all(b >= a for a, b in zip(value, value[1:], strict=False)):
        return np.array(value, dtype=float)
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise InputError(
        f"{where}: key 'residual_quantiles' is malformed: found {shown}; expected a list of "
        f"{N_QUANTILES} finite non-decreasing numbers (log residual quantiles), or null"
    )
