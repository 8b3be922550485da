"""Minimisers of the Huber objective.

A Levenberg-Marquardt run vectorised over many starts, and a tight SciPy L-BFGS-B polish of
a few.

The vectorised minimiser treats the Huber objective as reweighted least squares: at residuals
r it uses the gradient g = J^T (w psi(r)) and the curvature H = J^T diag(w q) J with q = 1
inside [-delta, delta] and q = 0.1 delta/|r| outside (between the exact Gauss-Newton curvature,
0, and the IRLS majoriser, delta/|r|; see ``_OUTSIDE_WEIGHT``). Each
start has its own Marquardt damping lambda, so a step H + lambda diag(H) is taken only when it
lowers that start's objective. Parameters at a bound whose gradient points outwards are held
for the step (a projected, active-set iteration), and every candidate is clipped to the bounds.
All S starts share one (S, n, P) Jacobian evaluation per iteration, which is what makes a grid
of thousands of starts cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from distillscale.fitting.objective import (
    _JAC_CHUNK_ELEMENTS,
    Problem,
    huber_psi,
    residuals_jac,
    values,
    values_grads,
)

__all__ = ["Optimum", "distinct_best", "lm_minimise", "polish", "serial_blas"]

log = logging.getLogger(__name__)

#: Curvature weight of a run in the linear part of the Huber loss, as a fraction of the IRLS
#: weight delta/|r|. The exact Gauss-Newton curvature of the Huber loss counts such runs as 0
#: and the IRLS majoriser as delta/|r|; a tenth keeps the curvature finite far from any optimum
#: (where every run is in the linear part) and converges 3x faster near one.
_OUTSIDE_WEIGHT = 0.1


@contextmanager
def serial_blas() -> Iterator[None]:
    """Run BLAS/LAPACK on one thread inside the block.

    The fitter's matrices are tiny (P <= 10): threaded BLAS only adds synchronisation, which
    made SciPy's L-BFGS-B 4x slower on a busy 2-core machine. Vectorisation across starts and
    resamples, not BLAS threads, is the fitter's parallelism.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True, slots=True, kw_only=True)
class Optimum:
    """Result of a vectorised minimisation.

    Parameters
    ----------
    theta : ndarray, shape (S, P)
        Final parameter sets, fitting space.
    f : ndarray, shape (S,)
        Objective at ``theta``.
    converged : ndarray of bool, shape (S,)
        Whether each start met the tolerance (rather than running out of iterations).
    """

    theta: NDArray[np.float64]
    f: NDArray[np.float64]
    converged: NDArray[np.bool_]


def _rows(weights: NDArray[np.float64] | None, idx: NDArray[np.intp]) -> NDArray[np.float64] | None:
    if weights is None or weights.ndim == 1:
        return weights
    return weights[idx]


def _curvature(
    problem: Problem,
    theta: NDArray[np.float64],
    weights: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Objective (S,), gradient (S, P) and IRLS curvature (S, P, P) at S parameter sets."""
    n_sets, n_par = theta.shape
    step = max(1, _JAC_CHUNK_ELEMENTS // max(1, problem.n_points * n_par))
    f = np.empty(n_sets)
    g = np.empty((n_sets, n_par))
    h = np.empty((n_sets, n_par, n_par))
    delta = problem.delta
    with np.errstate(all="ignore"):
        for lo in range(0, n_sets, step):
            hi = min(n_sets, lo + step)
            r, jac = residuals_jac(problem, theta[lo:hi])  # (s, n), (s, n, P)
            if weights is None:
                w = np.ones_like(r)
            elif weights.ndim == 1:
                w = np.broadcast_to(weights, r.shape)
            else:
                w = weights[lo:hi]
            a = np.abs(r)
            f[lo:hi] = (w * np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))).sum(1)
            g[lo:hi] = np.einsum("sn,snp->sp", w * huber_psi(r, delta), jac)
            q = w * np.where(a <= delta, 1.0, _OUTSIDE_WEIGHT * delta / np.maximum(a, delta))
            h[lo:hi] = np.matmul(np.swapaxes(jac * q[:, :, None], 1, 2), jac)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1) | ~np.all(np.isfinite(h), axis=(1, 2))
    f[bad] = np.inf
    g[bad] = 0.0
    h[bad] = 0.0
    return f, g, h


def lm_minimise(
    problem: Problem,
    theta0: NDArray[np.float64],
    *,
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    free: NDArray[np.bool_],
    weights: NDArray[np.float64] | None = None,
    max_iter: int = 200,
    ftol: float = 1e-12,
) -> Optimum:
    """Minimise the Huber objective from S starts at once (bounded Levenberg-Marquardt).

    Parameters
    ----------
    problem : Problem
        Law, inputs, observations and delta.
    theta0 : ndarray, shape (S, P)
        Starts in fitting space; clipped to the bounds.
    lower, upper : ndarray, shape (P,)
        Bounds in fitting space.
    free : ndarray of bool, shape (P,)
        False for parameters held at their start value.
    weights : ndarray, shape (n,) or (S, n), optional
        Per-run weights (bootstrap counts), per start when 2-D.
    max_iter : int
        Iterations (one Jacobian evaluation each) before giving up.
    ftol : float
        A start stops when an accepted step lowers its objective by less than
        ``ftol * (f + 1e-300)`` (relative), or when its damping exceeds 1e12.

    Returns
    -------
    Optimum
    """
    theta = np.clip(np.array(theta0, dtype=float, ndmin=2), lower, upper)
    n_sets, n_par = theta.shape
    f, g, h = _curvature(problem, theta, weights)
    lam = np.full(n_sets, 1e-3)
    active = np.isfinite(f)
    converged = np.zeros(n_sets, dtype=bool)
    eye = np.eye(n_par)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        th, gi, hi = theta[idx], g[idx], h[idx]
        hold = (~free)[None, :] | ((th <= lower) & (gi > 0)) | ((th >= upper) & (gi < 0))
        gi = np.where(hold, 0.0, gi)
        keep = (~hold)[:, :, None] & (~hold)[:, None, :]
        hi = np.where(keep, hi, 0.0)
        diag = np.diagonal(hi, axis1=1, axis2=2)
        floor = 1e-12 * np.maximum(diag.max(axis=1, keepdims=True), 1e-300)
        scale = np.where(hold, 1.0, np.maximum(diag, floor))
        a = (
            hi
            + (lam[idx, None] * scale)[:, :, None] * eye
            + np.where(hold, 1.0, 0.0)[:, :, None] * eye
        )
        try:
            step = -np.linalg.solve(a, gi[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -np.stack(
                [np.linalg.lstsq(ai, gv, rcond=None)[0] for ai, gv in zip(a, gi, strict=True)]
            )
        step = np.where(hold | ~np.isfinite(step), 0.0, step)
        cand = np.clip(th + step, lower, upper)
        f_new = values(problem, cand, _rows(weights, idx))
        better = f_new < f[idx]
        small = better & (f[idx] - f_new <= ftol * (np.abs(f_new) + 1e-300))
        acc = idx[better]
        if acc.size:
            theta[acc] = cand[better]
            f[acc], g[acc], h[acc] = _curvature(problem, theta[acc], _rows(weights, acc))
            lam[acc] = np.maximum(lam[acc] / 3.0, 1e-9)
        rej = idx[~better]
        lam[rej] *= 4.0
        stuck = lam[idx] > 1e12
        done = idx[small | stuck]
        converged[done] = True
        active[done] = False
    return Optimum(theta=theta, f=f, converged=converged)


def distinct_best(
    theta: NDArray[np.float64], f: NDArray[np.float64], count: int, tol: float = 1e-6
) -> NDArray[np.intp]:
    """Indices of the ``count`` lowest finite objectives whose parameter sets differ.

    Two sets are the same when every fitting-space coordinate agrees within ``tol``
    (relative to max(1, |value|)).
    """
    order = np.argsort(f, kind="stable")
    chosen: list[int] = []
    for i in order:
        if not np.isfinite(f[i]):
            break
        t = theta[i]
        if all(np.max(np.abs(t - theta[j]) / np.maximum(1.0, np.abs(t))) > tol for j in chosen):
            chosen.append(int(i))
            if len(chosen) == count:
                break
    return np.asarray(chosen, dtype=np.intp)


def polish(
    problem: Problem,
    theta0: NDArray[np.float64],
    *,
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    free: NDArray[np.bool_],
    weights: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], float, bool]:
    """Refine one start with SciPy L-BFGS-B, analytic gradient and tight tolerances.

    Tolerances ftol 1e-15, gtol 1e-12, maxcor 20 (the tight setting of docs/references.md:
    Chinchilla), at
    most 1000 iterations (a near-optimal start needs far fewer; a degenerate problem would
    otherwise crawl along its flat direction).

    Returns
    -------
    theta : ndarray, shape (P,)
        Refined parameters, fitting space.
    f : float
        Objective at ``theta``.
    success : bool
        SciPy's own verdict, or a projected gradient within SciPy's default pgtol (1e-5).
    """
    base = np.clip(np.asarray(theta0, dtype=float), lower, upper)
    if not free.any():
        return base, float(values(problem, base[None, :], weights)[0]), True

    def full(z: NDArray[np.float64]) -> NDArray[np.float64]:
        t = base.copy()
        t[free] = z
        return t[None, :]

    def fun(z: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        fv, gv = values_grads(problem, full(z), weights)
        return float(fv[0]), gv[0, free]

    res = minimize(
        fun,
        base[free],
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(lower[free], upper[free], strict=True)),
        options={"ftol": 1e-15, "gtol": 1e-12, "maxcor": 20, "maxiter": 1000, "maxfun": 2000},
    )
    theta = full(np.asarray(res.x))[0]
    fv, gv = values_grads(problem, theta[None, :], weights)
    f, g = float(fv[0]), gv[0]
    # At the tight tolerances the line search often stops at machine precision ("ABNORMAL");
    # the optimum still counts as converged when it meets SciPy's default pgtol of 1e-5.
    outward = ((theta <= lower) & (g > 0)) | ((theta >= upper) & (g < 0)) | ~free
    pgrad = float(np.max(np.abs(np.where(outward, 0.0, g)))) if np.isfinite(f) else np.inf
    log.debug("L-BFGS-B polish: f=%.12g nit=%d pg=%.3g %s", f, res.nit, pgrad, res.message)
    return theta, f, bool(res.success) or pgrad <= 1e-5
