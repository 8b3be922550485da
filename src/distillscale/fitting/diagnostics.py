"""Diagnostics of a fit: bounds, conditioning, covariance, poorly determined parameters.

The curvature is the Gauss-Newton matrix H = J^T J of the log residuals over the free
parameters in fitting space. Scaled to unit diagonal it is the inverse of a correlation matrix,
so its condition number measures how entangled the parameters are, not their units. The
asymptotic covariance is s^2 H^-1 with s^2 = sum r^2 / (n - p) (least-squares approximation,
lmfit's ``covar``), mapped to natural values by the delta method (d A / d log A = A).

Warnings are :class:`~distillscale.fitting.fit_warning.FitWarning` records whose text names
fixes as :func:`distillscale.fit`'s arguments (``fixed={'E': VALUE}``); the command line
writes those as flags.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from distillscale.fitting.fit_warning import FitWarning
from distillscale.fitting.objective import Problem, residuals_jac
from distillscale.fitting.result import Diagnostics

__all__ = ["AT_BOUND_FRACTION", "bound_side", "diagnose"]

#: Condition number of the scaled curvature above which a fit is called ill-conditioned.
ILL_CONDITIONED = 1e8
#: Relative eigenvalue below which a curvature direction counts as flat.
FLAT_DIRECTION = 1e-10
#: Relative standard error (or relative bootstrap interval width) that makes a parameter
#: poorly determined.
POORLY_DETERMINED = 1.0
#: |correlation| above which a pair is reported.
STRONG_CORRELATION = 0.999
#: A free parameter within this fraction of its bound interval's width (fitting space) of a
#: bound counts as at the bound: an optimiser that stalls at gamma = 0.003 of [0, 4] has run to
#: the bound as surely as one that stops at 0.
AT_BOUND_FRACTION = 1e-3


def bound_side(
    theta: NDArray[np.float64], lower: NDArray[np.float64], upper: NDArray[np.float64]
) -> NDArray[np.int8]:
    """-1 at (or near) the lower bound, +1 at the upper one, 0 inside, shape (P,).

    Near means within ``AT_BOUND_FRACTION`` of the bound interval's width, or 1e-6 relative,
    whichever is larger (fitting space: logs for scale parameters).
    """
    width = np.where(np.isfinite(upper - lower), upper - lower, 0.0)
    tol = np.maximum(1e-6 * np.maximum(1.0, np.abs(theta)), AT_BOUND_FRACTION * width)
    low = theta - lower <= tol
    high = upper - theta <= tol
    return np.where(low, -1, np.where(high, 1, 0)).astype(np.int8)


def diagnose(
    problem: Problem,
    theta: NDArray[np.float64],
    *,
    free: NDArray[np.bool_],
    converged: bool,
    samples: NDArray[np.float64] | None = None,
    ci_level: float = 0.9,
) -> tuple[Diagnostics, NDArray[np.float64] | None]:
    """Diagnostics and the natural-space covariance at a fitting-space optimum.

    Parameters
    ----------
    problem : Problem
        The fitted problem.
    theta : ndarray, shape (P,)
        Optimum in fitting space.
    free : ndarray of bool, shape (P,)
        Fitted parameters.
    converged : bool
        The optimiser's verdict.
    samples : ndarray, shape (K, P), optional
        Bootstrap optima in natural values.
    ci_level : float
        Coverage used to judge the bootstrap spread.

    Returns
    -------
    diagnostics : Diagnostics
    covariance : ndarray, shape (P, P), or None
        Natural-space covariance (zero rows and columns for fixed parameters); None when the
        curvature is singular.
    """
    law = problem.law
    names = law.param_names
    lower, upper = law.lower, law.upper
    side = bound_side(theta, lower, upper)
    at_bound = tuple(n for i, n in enumerate(names) if free[i] and side[i] != 0)
    warnings: list[FitWarning] = []
    if not converged:
        fix = "fixed={NAME: VALUE}"
        warnings.append(
            FitWarning(
                "not-converged",
                "the optimiser did not meet its tolerance; the optimum may be inexact: check the "
                f"data or hold poorly determined parameters with {fix}",
                hints=(("fixed", fix),),
            )
        )
    for n in at_bound:
        i = names.index(n)
        which = "lower" if side[i] < 0 else "upper"
        bound = lower[i] if side[i] < 0 else upper[i]
        shown = float(np.exp(bound)) if law.log_mask[i] else float(bound)
        value = float(np.exp(theta[i])) if law.log_mask[i] else float(theta[i])
        fix, loosen = _fix(n), f"bounds={{{n!r}: (LO, HI)}}"
        warnings.append(
            FitWarning(
                "at-bound",
                f"{n} fitted at its {which} bound {shown:.4g} (value {value:.4g}); its interval "
                f"is unreliable: fix {n} ({fix}), or loosen {loosen} if you set one",
                n,
                (("fixed", fix), ("bounds", loosen)),
            )
        )
    cond, cov, poor = _curvature(problem, theta, free, names, warnings)
    if samples is not None and samples.shape[0] > 1:
        values = np.where(law.log_mask, np.exp(theta), theta)
        a = 50 * (1 - ci_level)
        lo, hi = np.nanpercentile(samples, [a, 100 - a], axis=0)
        width = (hi - lo) / np.maximum(np.abs(values), 1e-300)
        for i, n in enumerate(names):
            if free[i] and width[i] > POORLY_DETERMINED and n not in poor:
                poor.append(n)
                warnings.append(
                    FitWarning(
                        "wide-bootstrap",
                        f"{n} is poorly determined: its {100 * ci_level:g}% bootstrap interval "
                        f"[{lo[i]:.4g}, {hi[i]:.4g}] is wider than its value {values[i]:.4g}; "
                        "trust predictions inside the data's range, not this coefficient alone",
                        n,
                    )
                )
    diag = Diagnostics(
        converged=converged,
        at_bound=at_bound,
        warnings=tuple(warnings),
        condition_number=cond,
        poorly_determined=tuple(n for n in names if n in poor),
    )
    return diag, cov


def _fix(name: str) -> str:
    """The fix that holds ``name``: ``fixed={'E': VALUE}`` (``--fix E=VALUE``)."""
    return f"fixed={{{name!r}: VALUE}}"


def _curvature(
    problem: Problem,
    theta: NDArray[np.float64],
    free: NDArray[np.bool_],
    names: tuple[str, ...],
    warnings: list[FitWarning],
) -> tuple[float | None, NDArray[np.float64] | None, list[str]]:
    """Condition number, covariance and flat-direction parameters from J^T J."""
    poor: list[str] = []
    idx = np.flatnonzero(free)
    if idx.size == 0:
        return None, None, poor
    r, jac = residuals_jac(problem, theta[None, :])
    j = jac[0][:, idx]  # (n, p)
    if not np.all(np.isfinite(j)):
        warnings.append(
            FitWarning(
                "jacobian-not-finite", "the Jacobian is not finite at the optimum; no covariance"
            )
        )
        return None, None, poor
    h = j.T @ j  # (p, p)
    d = np.sqrt(np.diag(h))
    dead = [names[idx[k]] for k in range(idx.size) if d[k] <= 1e-300]
    for n in dead:
        poor.append(n)
        warnings.append(
            FitWarning(
                "no-effect",
                f"{n} has no effect on the fitted runs (zero curvature); fix it ({_fix(n)})",
                n,
                (("fixed", _fix(n)),),
            )
        )
    live = d > 1e-300
    if live.sum() == 0:
        return None, None, poor
    hs = h[np.ix_(live, live)] / np.outer(d[live], d[live])
    eig, vec = np.linalg.eigh(hs)
    cond = float(eig[-1] / max(eig[0], 1e-300))
    live_names = [names[idx[k]] for k in np.flatnonzero(live)]
    if cond > ILL_CONDITIONED:
        warnings.append(
            FitWarning(
                "ill-conditioned",
                f"ill-conditioned: condition number {cond:.3g} of the scaled curvature; some "
                "combination of parameters is barely constrained by these runs",
            )
        )
    flat = eig < FLAT_DIRECTION * eig[-1]
    for k in np.flatnonzero(flat):
        for m in np.flatnonzero(np.abs(vec[:, k]) > 0.3).tolist():
            if live_names[m] not in poor:
                poor.append(live_names[m])
                warnings.append(
                    FitWarning(
                        "flat-direction",
                        f"{live_names[m]} is poorly determined: it lies in a nearly flat "
                        "direction of the objective; fix it or add runs that vary what it "
                        "controls",
                        live_names[m],
                    )
                )
    n_dof = max(1, problem.n_points - idx.size)
    s2 = float(np.sum(r[0] ** 2) / n_dof)
    if cond > 1e14 or dead:
        return cond, None, poor
    inv = np.linalg.inv(hs)
    cov_live = inv / np.outer(d[live], d[live]) * s2
    # correlations do not depend on the residual scale s2, which is 0 for an exact fit
    corr = inv / np.sqrt(np.outer(np.diag(inv), np.diag(inv)))
    for a in range(len(live_names)):
        for b in range(a + 1, len(live_names)):
            if abs(corr[a, b]) > STRONG_CORRELATION:
                warnings.append(
                    FitWarning(
                        "correlated",
                        f"{live_names[a]} and {live_names[b]} are almost perfectly correlated "
                        f"(r = {corr[a, b]:+.4f}): the runs constrain a combination of them",
                        live_names[a],
                    )
                )
    law = problem.law
    se = np.sqrt(np.diag(cov_live))
    for j, n in enumerate(live_names):
        i = names.index(n)
        rel = se[j] if law.log_mask[i] else se[j] / max(abs(theta[i]), 1e-300)
        if rel > POORLY_DETERMINED and n not in poor:
            poor.append(n)
            warnings.append(
                FitWarning(
                    "poorly-determined",
                    f"{n} is poorly determined: relative standard error {rel:.3g}; "
                    f"fix it ({_fix(n)}) or add runs",
                    n,
                    (("fixed", _fix(n)),),
                )
            )
    p = len(names)
    cov_fit = np.zeros((p, p))
    full = idx[np.flatnonzero(live)]
    cov_fit[np.ix_(full, full)] = cov_live
    jac_nat = np.where(law.log_mask, np.exp(theta), 1.0)  # d natural / d fitting
    return cond, cov_fit * np.outer(jac_nat, jac_nat), poor
