"""``least-squares``: plain least squares on the raw output, from every start of a grid.

Gadre et al. 2024 fit their laws this way (docs/references.md: Gadre): SciPy ``curve_fit``
(unweighted least squares on the loss itself, or on the error) from each point of a start grid,
keeping the fit with the lowest residual standard error. For the same runs that is the fit with
the lowest sum of squares

    S(theta) = sum_i (exp(m_i(theta)) - y_i)**2,

m_i the law's log prediction and y_i the observed output in its own unit (nats per token, or an
error fraction), not its log. The minimiser does not depend on how the law is parametrised, so
fitting in the law's fitting space (log scales, bounded) gives the authors' optimum whenever it
lies inside the law's bounds.

Each start runs SciPy ``least_squares`` (trust-region reflective, within the law's bounds, with
the analytic Jacobian exp(m_i) dm_i/dtheta) to tight tolerances (ftol, xtol, gtol 1e-15), so the
optimum is reproducible to far better than the 4 significant digits a paper prints. The lowest
S wins. A grid of more than ``n_screen`` starts (256 by default; Chinchilla's has 4,500) is first
screened: S at every start, vectorised, and only the ``n_screen`` lowest are run; grids up to
that size (Gadre et al.'s 128) run from every start. The artifact's ``objective`` stays the
summed Huber loss of log residuals at that optimum (comparable with the other estimators,
docs/conventions.md); S itself is ``sse_``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from distillscale.errors import InputError
from distillscale.fitting.constraints import BoundSpec, TieSpec, tie_theta
from distillscale.fitting.estimator import EstimatorBase
from distillscale.fitting.huber_grid import grid_starts
from distillscale.fitting.objective import Problem, values
from distillscale.fitting.optimise import distinct_best, serial_blas
from distillscale.fitting.prepare import FixedSpec, RunTableLike, build_fit
from distillscale.fitting.result import Fit
from distillscale.laws.base import Law

__all__ = ["LeastSquares", "resample_optima", "sum_of_squares"]

log = logging.getLogger(__name__)

#: Tolerances of every ``least_squares`` run (relative change of S, of theta, and gradient).
_TOL = 1e-15
#: Function evaluations allowed per start.
_MAX_NFEV = 10_000
#: Elements of an (S, n) prediction array evaluated at once by the screen.
_SCREEN_ELEMENTS = 250_000


def sum_of_squares(problem: Problem, theta: NDArray[np.float64]) -> NDArray[np.float64]:
    """S(theta) = sum_i (prediction_i - observation_i)**2 in output units, shape (S,).

    ``theta`` has shape (S, P) in fitting space; non-finite predictions give ``inf``.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    with np.errstate(all="ignore"):
        r = np.exp(problem.law.log_predict(theta, problem.x)) - np.exp(problem.log_y)
        s = np.sum(r * r, axis=1)
    return np.where(np.isfinite(s), s, np.inf)


def _screen(problem: Problem, starts: NDArray[np.float64], n_screen: int) -> NDArray[np.float64]:
    """The ``n_screen`` starts with the lowest S, all of them when there are no more."""
    if starts.shape[0] <= n_screen:
        return starts
    step = max(1, _SCREEN_ELEMENTS // max(1, problem.n_points))
    s = np.concatenate(
        [sum_of_squares(problem, starts[lo : lo + step]) for lo in range(0, len(starts), step)]
    )
    keep = np.argsort(s, kind="stable")[:n_screen]
    return starts[np.sort(keep)]


def _minimise(
    problem: Problem,
    start: NDArray[np.float64],
    free: NDArray[np.bool_],
    weights: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], float, bool]:
    """One trust-region least-squares run from ``start``: (theta, weighted S, converged).

    ``weights`` (n,) multiply each squared residual (bootstrap draw counts); 1 when omitted.
    """
    law = problem.law
    y = np.exp(problem.log_y)
    root_w = np.ones_like(y) if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    lo, hi = law.lower[free], law.upper[free]
    base = start.copy()

    def full(z: NDArray[np.float64]) -> NDArray[np.float64]:
        t = base.copy()
        t[free] = z
        return t

    def resid(z: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(all="ignore"):
            r = root_w * (np.exp(law.log_predict(full(z)[None, :], problem.x)[0]) - y)
        return np.where(np.isfinite(r), r, 1e150)

    def jac(z: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(all="ignore"):
            m, j = law.log_predict_grad(full(z)[None, :], problem.x)
            out = (root_w * np.exp(m[0]))[:, None] * j[0][:, free]
        return np.where(np.isfinite(out), out, 0.0)

    z0 = np.clip(start[free], lo, hi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = least_squares(
            resid,
            z0,
            jac=jac,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            ftol=_TOL,
            xtol=_TOL,
            gtol=_TOL,
            max_nfev=_MAX_NFEV,
        )
    theta = full(np.asarray(res.x, dtype=float))
    s = float(2.0 * res.cost) if np.isfinite(res.cost) else np.inf
    if weights is None:
        s = float(sum_of_squares(problem, theta[None, :])[0])
    return theta, s, bool(res.status > 0)


def resample_optima(
    problem: Problem,
    warm: NDArray[np.float64],
    free: NDArray[np.bool_],
    counts: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Least-squares optimum of each bootstrap resample, shape (K, P), fitting space.

    Resample k weights run i's squared residual by ``counts[k, i]`` (its draw count) and starts
    from every row of ``warm`` (the full-data optimum and optima in other basins); the lowest
    weighted sum of squares wins.
    """
    out = np.empty((counts.shape[0], warm.shape[1]))
    for k, w in enumerate(counts):
        best = (np.inf, warm[0])
        for start in warm:
            theta, s, _ = _minimise(problem, start, free, weights=w)
            if s < best[0]:
                best = (s, theta)
        out[k] = best[1]
    return out


class LeastSquares(EstimatorBase):
    """Unweighted least squares on the raw output, best of a start grid (Gadre et al. 2024).

    Parameters
    ----------
    law : str or Law
        Law name or instance.
    fixed : mapping, optional
        Parameters held fixed: natural values, or ``"@name"`` to take a published set's value.
    bounds : mapping of str to (float, float), optional
        Natural-unit bounds narrowing the law's (``{"E": (0.5, 3.0)}``), applied to the start
        grid and the minimiser.
    ties : mapping of str to str, optional
        ``{"alpha": "beta"}``: alpha takes beta's value (one free parameter shared).
    supervised : Fit or str, optional
        Supervised fit giving ``supervised_loss`` (distillation law).
    starts : ndarray, shape (G, P), optional
        Custom starts in fitting space instead of the law's start grid.
    n_screen : int
        Most starts run; a larger grid keeps the ``n_screen`` with the lowest sum of squares.
    delta : float, optional
        Huber threshold used only for the recorded ``objective`` and the diagnostics; the fit
        itself has none.

    Attributes
    ----------
    params_ : dict of str to float
        Fitted natural values.
    theta_ : ndarray, shape (P,)
        Optimum in fitting space.
    sse_ : float
        Sum of squared raw residuals at the optimum (output units squared).
    candidates_ : ndarray, shape (m, P)
        Distinct optima of the starts, best first.
    result_ : Fit
        The fit, with diagnostics.
    """

    name = "least-squares"

    def __init__(
        self,
        law: str | Law = "overtrain",
        *,
        fixed: FixedSpec | None = None,
        bounds: BoundSpec | None = None,
        ties: TieSpec | None = None,
        supervised: Fit | str | None = None,
        starts: NDArray[np.float64] | None = None,
        n_screen: int = 256,
        delta: float | None = None,
    ) -> None:
        self.law = law
        self.fixed = fixed
        self.bounds = bounds
        self.ties = ties
        self.supervised = supervised
        self.starts = starts
        self.n_screen = n_screen
        self.delta = delta

    def fit(self, table: RunTableLike) -> LeastSquares:
        """Fit to a run table; returns ``self``."""
        prep = self.prepare(table)
        law, problem, free = prep.law, prep.problem, prep.free
        if int(self.n_screen) < 1:
            raise InputError(
                ": must be at least 1 start",
                subject=("n_screen", f"n_screen={self.n_screen}", f"{self.n_screen}"),
            )
        starts = grid_starts(law, prep.base, prep.free, self._starts(law))
        starts = _screen(problem, starts, int(self.n_screen))
        found: list[tuple[float, bool, NDArray[np.float64]]] = []
        with serial_blas():
            for start in starts:
                theta, s, ok = _minimise(problem, start, free)
                if np.isfinite(s):
                    found.append((s, ok, theta))
        if not found:
            raise InputError(
                f"{table.source}: least squares found no finite fit of law {law.name!r} from "
                f"{starts.shape[0]} starts; check the runs or give starts="
            )
        found.sort(key=lambda t: t[0])
        sse, ok, theta = found[0]
        theta = tie_theta(law, theta)
        cands = np.stack([t[2] for t in found])
        distinct = distinct_best(cands, np.array([t[0] for t in found]), 4)
        log.debug("least-squares: %d starts, best sum of squares %.12g", starts.shape[0], sse)
        self.theta_ = theta
        self.params_ = law.from_fitting(theta)
        self.sse_ = sse
        self.candidates_ = cands[distinct]
        self.result_ = build_fit(
            prep,
            theta,
            estimator=self.name,
            objective=float(values(problem, theta[None, :])[0]),
            converged=ok,
        )
        return self

    def _starts(self, law: Law) -> NDArray[np.float64] | None:
        if self.starts is None:
            return None
        starts = np.atleast_2d(np.asarray(self.starts, dtype=float))
        if starts.ndim != 2 or starts.shape[1] != len(law.param_names):
            raise InputError(
                f": need an array of shape (G, {len(law.param_names)}) in fitting space "
                f"({', '.join(law.param_names)}); got shape {np.shape(self.starts)}",
                subject=("starts", "starts=", ""),
            )
        if not np.all(np.isfinite(starts)):
            raise InputError(": must be finite", subject=("starts", "starts=", ""))
        return starts
