"""``huber-mle``: the Huber likelihood with a fitted scale, Besiroglu et al. 2024.

See docs/references.md: Chinchilla.

Standardised residuals x_i = r_i / s, with s = exp(sigma), are i.i.d. from the Huber density
p(x) = exp(-rho(x)) / Z(delta), Z(delta) = sqrt(2 pi) (1 - 2 Q(delta)) + 2 exp(-delta^2/2) / delta
(Q the standard-normal survival function). The negative log-likelihood

    NLL(theta, sigma) = sum_i [rho(x_i) + log Z(delta) + sigma]

is minimised by SciPy BFGS (default tolerances, analytic gradient) from one start: Hoffmann's
unrounded values with sigma = 0 for the Chinchilla law (Epoch's notebook), and the
``huber-grid`` optimum for other laws. SciPy may report "Desired error not necessarily achieved
due to precision loss" at the optimum; as in the Epoch notebook, that result is accepted and
counted as converged. The ``objective`` of the resulting fit is the
summed Huber loss at the MLE parameters (comparable with ``huber-grid``); the scale is ``scale``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import ndtr

from distillscale.fitting.constraints import BoundSpec, TieSpec, tie_theta
from distillscale.fitting.estimator import EstimatorBase
from distillscale.fitting.huber_grid import grid_minimise, grid_starts
from distillscale.fitting.objective import Problem, huber, huber_psi, residuals_jac, values
from distillscale.fitting.optimise import serial_blas
from distillscale.fitting.prepare import FixedSpec, Prepared, RunTableLike, build_fit
from distillscale.fitting.result import Fit, load_fit
from distillscale.laws.base import Law

__all__ = ["HuberMLE", "huber_log_z", "nll"]


def huber_log_z(delta: float) -> float:
    """Log normaliser log Z(delta) of the standard Huber density."""
    z = (
        math.sqrt(2 * math.pi) * (1 - 2 * float(ndtr(-delta)))
        + 2 * math.exp(-0.5 * delta * delta) / delta  # delta > 1e154: inf, not OverflowError
    )
    return math.log(z)


def nll(
    problem: Problem, theta: NDArray[np.float64], sigma: float
) -> tuple[float, NDArray[np.float64], float]:
    """Negative log-likelihood, its gradient in theta (P,) and in sigma."""
    if not -700.0 < sigma < 700.0:  # exp(sigma) would under- or overflow
        return math.inf, np.zeros_like(theta), 0.0
    r, jac = residuals_jac(problem, theta[None, :])
    s = math.exp(sigma)
    d = problem.delta
    with np.errstate(all="ignore"):
        x = r[0] / s
        value = float(np.sum(huber(x, d)) + problem.n_points * (huber_log_z(d) + sigma))
        psi = huber_psi(x, d)
        grad = (psi / s) @ jac[0]
        g_sigma = float(np.sum(1.0 - psi * x))
    if not (np.isfinite(value) and np.all(np.isfinite(grad)) and np.isfinite(g_sigma)):
        return math.inf, np.zeros_like(theta), 0.0
    return value, grad, g_sigma


class HuberMLE(EstimatorBase):
    """Huber likelihood with a fitted scale (Besiroglu et al. 2024's headline estimator).

    Parameters
    ----------
    law : str or Law
        Law name or instance.
    delta : float, optional
        Huber threshold; the law's default when omitted.
    fixed : mapping, optional
        Parameters held fixed (natural values or ``"@name"``).
    bounds : mapping of str to (float, float), optional
        Natural-unit bounds narrowing the law's (``{"E": (0.5, 3.0)}``), applied to the start
        grid, the minimisers and the ``at_bound`` check.
    ties : mapping of str to str, optional
        ``{"alpha": "beta"}``: alpha takes beta's value (one free parameter shared).
    supervised : Fit or str, optional
        Supervised fit for the distillation law.
    start : mapping of str to float, optional
        Natural starting values; default Hoffmann's unrounded set (Chinchilla) or the
        ``huber-grid`` optimum.

    Attributes
    ----------
    params_ : dict of str to float
        Fitted natural values.
    theta_ : ndarray, shape (P,)
        Optimum in fitting space.
    scale_ : float
        Fitted scale s of the log residuals.
    nll_ : float
        Negative log-likelihood at the optimum.
    candidates_ : ndarray, shape (1, P)
        The optimum, as the bootstrap's warm start.
    result_ : Fit
        The fit, with diagnostics.
    """

    name = "huber-mle"

    def __init__(
        self,
        law: str | Law = "chinchilla",
        *,
        delta: float | None = None,
        fixed: FixedSpec | None = None,
        bounds: BoundSpec | None = None,
        ties: TieSpec | None = None,
        supervised: Fit | str | None = None,
        start: Mapping[str, float] | None = None,
    ) -> None:
        self.law = law
        self.delta = delta
        self.fixed = fixed
        self.bounds = bounds
        self.ties = ties
        self.supervised = supervised
        self.start = start

    def _start(self, prep: Prepared) -> NDArray[np.float64]:
        law = prep.law
        if self.start is not None:
            theta = law.to_fitting(self.start)
        elif law.name == "chinchilla":
            theta = law.to_fitting(load_fit("@hoffmann2022").params)
        else:
            starts = grid_starts(law, prep.base, prep.free)
            theta = grid_minimise(prep.problem, starts, free=prep.free).theta
        return np.where(prep.free, theta, prep.base)

    def fit(self, table: RunTableLike) -> HuberMLE:
        """Fit to a run table; returns ``self``."""
        prep = self.prepare(table)
        problem, free = prep.problem, prep.free
        with serial_blas():
            theta0 = self._start(prep)

        def full(z: NDArray[np.float64]) -> NDArray[np.float64]:
            t = theta0.copy()
            t[free] = z[:-1]
            return t

        def fun(z: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            value, grad, g_sigma = nll(problem, full(z), float(z[-1]))
            return value, np.append(grad[free], g_sigma)

        law = prep.law
        if prep.bounds or prep.ties:  # user bounds: a bounded minimiser from a start inside
            lo, hi = law.lower[free], law.upper[free]
            z0 = np.append(np.clip(theta0[free], lo, hi), 0.0)
            box = [*zip(lo.tolist(), hi.tolist(), strict=True), (None, None)]
            with serial_blas():
                res = minimize(fun, z0, jac=True, method="L-BFGS-B", bounds=box)
        else:
            z0 = np.append(theta0[free], 0.0)
            with serial_blas():
                res = minimize(fun, z0, jac=True, method="BFGS")
        theta = tie_theta(law, full(np.asarray(res.x)))
        sigma = float(res.x[-1])
        # "precision loss" is SciPy's usual message at this optimum (docs/references.md:
        # Chinchilla); the
        # Epoch notebook accepts it, and so does this estimator.
        converged = bool(res.success) or (
            "precision loss" in str(res.message) and bool(np.isfinite(res.fun))
        )
        self.theta_ = theta
        self.params_ = prep.law.from_fitting(theta)
        self.scale_ = math.exp(sigma)
        self.nll_ = float(res.fun)
        self.candidates_ = theta[None, :]
        self.result_ = build_fit(
            prep,
            theta,
            estimator=self.name,
            objective=float(values(problem, theta[None, :])[0]),
            converged=converged,
            scale=self.scale_,
        )
        return self
