"""The one Huber objective: summed Huber loss of log residuals, vectorised over parameter sets.

For runs i with observed output y_i (loss in nats per token, or error) and a law's log
prediction m_i(theta), the residual is r_i = m_i(theta) - log y_i (log prediction minus log
observation; Hoffmann et al. 2022 App. D.2, Busbridge et al. 2025 App. F) and the objective is

    f(theta) = sum_i w_i * Huber_delta(r_i),
    Huber_delta(r) = r**2 / 2 if |r| <= delta else delta * (|r| - delta / 2).

It is summed, not averaged (Besiroglu et al. 2024: averaging stopped Hoffmann's L-BFGS early).
The weights w_i are 1 for a plain fit and the resampling counts for a bootstrap resample.
Every function takes S parameter sets at once (rows of ``theta``) and works in chunks so that
the (S, n, P) Jacobian never exceeds a fixed memory budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from distillscale.laws.base import Law

__all__ = ["Problem", "huber", "huber_psi", "values", "values_grads", "residuals_jac"]

# Elements per chunk of an (S, n) or (S, n, P) array. Small enough (2 MB of float64) that a
# law's temporaries stay in cache, which is ~2x faster than large chunks on a 216,000-start grid.
_CHUNK_ELEMENTS = 250_000
# Elements per chunk of an (S, n, P) Jacobian: batched matrix products prefer larger chunks.
_JAC_CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """A law, its inputs and observations, ready for the objective.

    Parameters
    ----------
    law : Law
        The scaling law.
    x : mapping of str to ndarray, shape (n,)
        The law's inputs and derived inputs (``params`` and ``tokens`` counts,
        ``teacher_loss``/``supervised_loss`` nats per token, ...).
    log_y : ndarray, shape (n,)
        Natural log of the observed output (log nats per token for loss laws).
    delta : float
        Huber threshold on log residuals.
    """

    law: Law
    x: Mapping[str, NDArray[np.float64]]
    log_y: NDArray[np.float64]
    delta: float

    @property
    def n_points(self) -> int:
        """Number of runs n."""
        return int(self.log_y.shape[0])

    def subset(self, index: NDArray[np.intp]) -> Problem:
        """The same problem restricted to the runs at ``index``."""
        return Problem(
            law=self.law,
            x={k: v[index] for k, v in self.x.items()},
            log_y=self.log_y[index],
            delta=self.delta,
        )


def huber(r: NDArray[np.float64], delta: float) -> NDArray[np.float64]:
    """Huber loss, elementwise: r**2/2 inside [-delta, delta], linear outside."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def huber_psi(r: NDArray[np.float64], delta: float) -> NDArray[np.float64]:
    """Derivative of :func:`huber`: r clipped to [-delta, delta]."""
    return np.clip(r, -delta, delta)


def _weights_rows(weights: NDArray[np.float64] | None, lo: int, hi: int) -> NDArray[np.float64]:
    if weights is None:
        return np.ones((1, 1))
    if weights.ndim == 1:
        return weights[None, :]
    return weights[lo:hi]


def _finite_rows(f: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(np.isfinite(f), f, np.inf)


def values(
    problem: Problem,
    theta: NDArray[np.float64],
    weights: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Objective at S parameter sets.

    Parameters
    ----------
    problem : Problem
        Law, inputs, observations and delta.
    theta : ndarray, shape (S, P)
        Parameter sets in fitting space.
    weights : ndarray, shape (n,) or (S, n), optional
        Per-run weights (bootstrap counts); 1 when omitted.

    Returns
    -------
    ndarray, shape (S,)
        Summed Huber objective; ``inf`` where the prediction is not finite.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    n_sets = theta.shape[0]
    step = max(1, _CHUNK_ELEMENTS // max(1, problem.n_points))
    out = np.empty(n_sets)
    with np.errstate(all="ignore"):
        for lo in range(0, n_sets, step):
            hi = min(n_sets, lo + step)
            m = problem.law.log_predict(theta[lo:hi], problem.x)  # (s, n)
            h = huber(m - problem.log_y, problem.delta) * _weights_rows(weights, lo, hi)
            out[lo:hi] = _finite_rows(h.sum(axis=1))
    return out


def residuals_jac(
    problem: Problem, theta: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Log residuals and their Jacobian at S parameter sets (no chunking; keep S small).

    Returns
    -------
    r : ndarray, shape (S, n)
        log prediction - log observation.
    jac : ndarray, shape (S, n, P)
        d r / d theta.
    """
    with np.errstate(all="ignore"):
        m, jac = problem.law.log_predict_grad(np.atleast_2d(theta), problem.x)
    return m - problem.log_y, jac


def values_grads(
    problem: Problem,
    theta: NDArray[np.float64],
    weights: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Objective and its analytic gradient at S parameter sets.

    Returns
    -------
    f : ndarray, shape (S,)
        Summed Huber objective (``inf`` where not finite).
    grad : ndarray, shape (S, P)
        d f / d theta in fitting space (0 where ``f`` is not finite).
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    n_sets, n_par = theta.shape
    step = max(1, _JAC_CHUNK_ELEMENTS // max(1, problem.n_points * n_par))
    f = np.empty(n_sets)
    g = np.empty((n_sets, n_par))
    with np.errstate(all="ignore"):
        for lo in range(0, n_sets, step):
            hi = min(n_sets, lo + step)
            r, jac = residuals_jac(problem, theta[lo:hi])
            w = _weights_rows(weights, lo, hi)
            f[lo:hi] = (huber(r, problem.delta) * w).sum(axis=1)
            g[lo:hi] = np.einsum("sn,snp->sp", huber_psi(r, problem.delta) * w, jac)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    f[bad] = np.inf
    g[bad] = 0.0
    return f, g
