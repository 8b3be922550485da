"""Non-parametric bootstrap over runs: percentile intervals for parameters and predictions.

Each resample draws n runs with replacement (``np.random.default_rng(seed)``), which is the same
as weighting every run by how often it was drawn; the summed Huber objective is then minimised
with those weights (Besiroglu et al. 2024 refit each resample on the summed Huber loss, also for
their likelihood estimator; Busbridge et al. 2025 use 4096 resamples and 90% intervals).

Speed. A resample's optimum lies close to the full-data one, so instead of the whole start grid
each resample starts from the full-data optimum and from the next best grid optima that lie
in other basins (differing by more than 1%), ``n_warm`` starts at most. All resamples x starts
then run *together* through the vectorised Levenberg-Marquardt minimiser (one (K m, n, P)
Jacobian per iteration, in batches of ``batch`` resamples): that vectorisation is the
parallelism (the matrices are P x P, too small for threaded BLAS to help, so BLAS runs on one
thread). The best start per resample is its optimum.

The ``least-squares`` estimator's resamples instead minimise the draw-count-weighted sum of
squared raw residuals, one SciPy ``least_squares`` run per resample and warm start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import InputError
from distillscale.fitting.constraints import tie_theta
from distillscale.fitting.diagnostics import diagnose
from distillscale.fitting.huber_grid import HuberGrid
from distillscale.fitting.huber_mle import HuberMLE
from distillscale.fitting.least_squares import LeastSquares, resample_optima
from distillscale.fitting.optimise import distinct_best, lm_minimise, serial_blas
from distillscale.fitting.prepare import RunTableLike
from distillscale.fitting.result import Fit

__all__ = ["Bootstrap", "resample_counts"]

log = logging.getLogger(__name__)

#: Most resamples a bootstrap takes: (resamples x runs) counts are held in memory at once.
MAX_RESAMPLES = 100_000

Progress = Callable[[int, int], None]


def resample_counts(n_points: int, n_resamples: int, seed: int | None) -> NDArray[np.float64]:
    """How often each run is drawn in each resample, shape (K, n); rows sum to n."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_points, size=(n_resamples, n_points))
    counts = np.zeros((n_resamples, n_points))
    np.add.at(counts, (np.arange(n_resamples)[:, None], idx), 1.0)
    return counts


class Bootstrap:
    """Bootstrap an estimator: refit on resampled runs, keep every optimum.

    Parameters
    ----------
    estimator : HuberGrid, HuberMLE or LeastSquares
        Fitted on the full table first; its optimum and candidates warm-start the resamples.
        Each resample refits the estimator's own objective: the summed Huber loss for the
        Huber estimators, the weighted sum of squared raw residuals for ``LeastSquares``.
    n_resamples : int
        K, the number of resamples.
    ci : float
        Coverage of the percentile intervals (0.9 = 5th to 95th percentile).
    seed : int, optional
        Seed of ``np.random.default_rng``; the same seed gives the same samples.
    n_warm : int
        Starts per resample, at most: the full-data optimum plus grid optima in other basins.
    batch : int
        Resamples minimised together (bounds memory; progress is reported per batch).
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch of resamples.

    Attributes
    ----------
    samples_ : ndarray, shape (K, P)
        Natural parameter values of every resample's optimum.
    ci_ : dict of str to (float, float)
        Percentile interval per parameter.
    result_ : Fit
        The estimator's fit with ``ci``, ``ci_level``, ``bootstrap_samples`` and diagnostics
        that include the bootstrap spread.
    """

    def __init__(
        self,
        estimator: HuberGrid | HuberMLE | LeastSquares,
        *,
        n_resamples: int = 1000,
        ci: float = 0.9,
        seed: int | None = None,
        n_warm: int = 3,
        batch: int = 250,
        progress: Progress | None = None,
    ) -> None:
        self.estimator = estimator
        self.n_resamples = n_resamples
        self.ci = ci
        self.seed = seed
        self.n_warm = n_warm
        self.batch = batch
        self.progress = progress

    def _subject(self, option: str) -> tuple[str, str, str]:
        """An error's subject: ``bootstrap``, ``seed`` or ``ci`` in Python words and as typed."""
        value = {"bootstrap": self.n_resamples, "seed": self.seed, "ci": self.ci}[option]
        return (option, f"{option}={value}", f"{value}")

    def fit(self, table: RunTableLike) -> Bootstrap:
        """Fit the estimator on ``table``, then every resample; returns ``self``."""
        if int(self.n_resamples) < 2:
            raise InputError(": need at least 2 resamples", subject=self._subject("bootstrap"))
        if int(self.n_resamples) > MAX_RESAMPLES:
            raise InputError(
                f": at most {MAX_RESAMPLES:,} resamples (1,000 give percentile intervals to "
                "about 1 %)",
                subject=self._subject("bootstrap"),
            )
        if self.seed is not None and not 0 <= int(self.seed):
            raise InputError(": must be an integer >= 0", subject=self._subject("seed"))
        if not 0.0 < float(self.ci) < 1.0:
            raise InputError(
                ": must be in (0, 1), e.g. 0.9 for 90% intervals", subject=self._subject("ci")
            )
        est = self.estimator.fit(table)
        prep = est.prepare(table)
        law, problem, free = prep.law, prep.problem, prep.free
        # The optimum first, then grid optima in other basins (differing by > 1%).
        cands = np.vstack([est.theta_[None, :], est.candidates_])
        order = np.arange(cands.shape[0], dtype=float)
        warm = cands[distinct_best(cands, order, max(1, self.n_warm), tol=1e-2)]  # (m, P)
        m = warm.shape[0]
        k_total = int(self.n_resamples)
        counts = resample_counts(problem.n_points, k_total, self.seed)
        out = np.empty((k_total, len(law.param_names)))
        for lo in range(0, k_total, self.batch):
            hi = min(k_total, lo + self.batch)
            k = hi - lo
            if isinstance(est, LeastSquares):
                with serial_blas():
                    out[lo:hi] = resample_optima(problem, warm, free, counts[lo:hi])
                if self.progress is not None:
                    self.progress(hi, k_total)
                continue
            starts = np.tile(warm, (k, 1))  # (k m, P): resample j uses rows j m ... j m + m - 1
            weights = np.repeat(counts[lo:hi], m, axis=0)  # (k m, n)
            with serial_blas():
                opt = lm_minimise(
                    problem,
                    starts,
                    lower=law.lower,
                    upper=law.upper,
                    free=free,
                    weights=weights,
                    max_iter=200,
                )
            f = opt.f.reshape(k, m)
            best = np.argmin(f, axis=1)
            out[lo:hi] = opt.theta.reshape(k, m, -1)[np.arange(k), best]
            if self.progress is not None:
                self.progress(hi, k_total)
        out = tie_theta(law, out)
        samples = np.where(law.log_mask, np.exp(out), out)
        for i, name in enumerate(law.param_names):
            if name in prep.fixed:
                samples[:, i] = prep.fixed[name]
        a = 50 * (1 - self.ci)
        lo_q, hi_q = np.percentile(samples, [a, 100 - a], axis=0)
        ci = {n: (float(lo_q[i]), float(hi_q[i])) for i, n in enumerate(law.param_names)}
        base: Fit = est.result_
        diag, _ = diagnose(
            problem,
            est.theta_,
            free=free,
            converged=base.diagnostics.converged,
            samples=samples,
            ci_level=self.ci,
        )
        self.samples_ = samples
        self.ci_ = ci
        self.result_ = replace(
            base, ci=ci, ci_level=float(self.ci), bootstrap_samples=samples, diagnostics=diag
        )
        log.debug("bootstrap: %d resamples of %s", k_total, law.name)
        return self
