"""The fit record :class:`Fit` and its parts: parameters, intervals, diagnostics, prediction.

:class:`Fit` predicts (point values and intervals); its JSON artifact (``distillscale.fit/1``)
is read and written by :mod:`distillscale.fitting.artifact`, its text and notebook views live in
:mod:`distillscale.fitting.text` and :mod:`distillscale.fitting.notebook`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.fitting.fit_warning import TEXT, FitWarning, read_warnings, warning_details
from distillscale.fitting.intervals import prediction_band
from distillscale.laws import get_law
from distillscale.laws.base import Law

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCHEMA", "Diagnostics", "Fit", "HoldoutRow", "Prediction", "package_version"]

SCHEMA = "distillscale.fit/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostics:
    """What to trust in a fit.

    Parameters
    ----------
    converged : bool
        The optimiser met its tolerance at the reported optimum.
    at_bound : tuple of str
        Free parameters that ended on a bound of the law's fitting space.
    warnings : tuple of FitWarning
        Plain-language advice (parameters at a bound, ill-conditioning, poorly determined
        parameters, strong correlations), each with its code, parameter and the fixes it names
        (``str(w)`` is its text). Plain strings given here become warnings of code ``"text"``.
    condition_number : float or None
        Condition number of the Gauss-Newton curvature J^T J over the free parameters in fitting
        space, scaled to unit diagonal (so it measures correlation, not units).
    poorly_determined : tuple of str
        Parameters the data barely constrain (near-flat directions of the objective, relative
        standard error above 100%, or a bootstrap interval wider than the value).
    """

    converged: bool
    at_bound: tuple[str, ...] = ()
    warnings: tuple[FitWarning, ...] = ()
    condition_number: float | None = None
    poorly_determined: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        texts = tuple(
            w if isinstance(w, FitWarning) else FitWarning(TEXT, w) for w in self.warnings
        )
        object.__setattr__(self, "warnings", texts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: ``warnings`` as texts, ``warning_details`` alongside."""
        return {
            "converged": self.converged,
            "at_bound": list(self.at_bound),
            "warnings": [str(w) for w in self.warnings],
            "warning_details": warning_details(self.warnings),
            "condition_number": self.condition_number,
            "poorly_determined": list(self.poorly_determined),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Diagnostics:
        """Inverse of :meth:`to_dict` (missing optional keys take their defaults)."""
        cond = raw.get("condition_number")
        return cls(
            converged=bool(raw["converged"]),
            at_bound=tuple(raw.get("at_bound", ())),
            warnings=read_warnings(raw.get("warnings", ()), raw.get("warning_details")),
            condition_number=None if cond is None else float(cond),
            poorly_determined=tuple(raw.get("poorly_determined", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldoutRow:
    """One held-out run: observed and predicted output and the relative error.

    ``rel_error = (predicted - observed) / observed``, a fraction; losses in nats per token.
    ``lower``/``upper`` are the prediction interval for a new run at the fit's ``ci_level``
    (bootstrap plus residual scatter; None without bootstrap samples) and ``inside`` whether
    ``observed`` lies in it.
    """

    run: str
    observed: float
    predicted: float
    rel_error: float
    lower: float | None = None
    upper: float | None = None
    inside: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The artifact's holdout entry; the interval keys only when there is an interval."""
        out: dict[str, Any] = {
            "run": self.run,
            "observed": self.observed,
            "predicted": self.predicted,
            "rel_error": self.rel_error,
        }
        if self.lower is not None and self.upper is not None:
            out["prediction_interval"] = [self.lower, self.upper]
            out["inside"] = self.inside
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """Predictions with a confidence interval of the curve and a prediction interval.

    Parameters
    ----------
    value : ndarray
        Point prediction (loss in nats per token, or error fraction).
    lower, upper : ndarray
        Confidence interval of the fitted (mean) curve: percentile interval at ``level`` over
        the bootstrap resamples, parameter uncertainty only.
    level : float
        Coverage of both intervals (0.9 for 5th to 95th percentile).
    prediction_lower, prediction_upper : ndarray or None
        Prediction interval for a new run's observed value: the resamples combined with the
        residual scatter of the fit (:mod:`distillscale.fitting.intervals`); None for a fit
        without ``residual_quantiles`` (a published set, or an artifact written before 0.2).
    inputs : dict of str to ndarray or None
        The law's inputs the prediction was made at (``params``, ``tokens``, ...), broadcast to
        the shape of ``value``; set by :meth:`Fit.predict`, shown by the notebook views.
    """

    value: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    level: float
    prediction_lower: NDArray[np.float64] | None = None
    prediction_upper: NDArray[np.float64] | None = None
    inputs: dict[str, NDArray[np.float64]] | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per (flattened) point: the inputs, ``value``, ``lower``, ``upper``.

        With a prediction interval, also ``prediction_lower`` and ``prediction_upper``.
        """
        from distillscale.fitting.notebook import prediction_frame

        return prediction_frame(self)

    def _repr_html_(self) -> str:
        from distillscale.fitting.notebook import prediction_html

        return prediction_html(self)


def package_version() -> str:
    """``"distillscale x.y.z"``, recorded in every fit."""
    from distillscale import __version__

    return f"distillscale {__version__}"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Fit:
    """A fitted (or published) scaling law.

    Parameters
    ----------
    law : str
        Law name (docs/conventions.md).
    params : dict of str to float
        Natural parameter values (not logs), fitted and fixed.
    ci : dict of str to (float, float), or None
        Percentile interval per parameter at ``ci_level`` (bootstrap), or the paper's interval
        for a published set; None without either.
    ci_level : float or None
        Coverage of ``ci`` (0.9 = 5th to 95th percentile).
    estimator : str
        ``"huber-grid"``, ``"huber-mle"`` or ``"published"``.
    delta : float
        Huber threshold on log residuals.
    objective : float or None
        Summed Huber loss of log residuals at ``params`` (None for published sets).
    n_points : int or None
        Runs fitted.
    diagnostics : Diagnostics
        Convergence, bounds, conditioning and warnings.
    supervised : Fit or None
        The supervised fit that gives ``supervised_loss`` (distillation law only).
    holdout : tuple of HoldoutRow, or None
        Held-out evaluation, when asked for.
    data_sha256 : str or None
        Hash of the fitted table.
    version : str
        ``"distillscale x.y.z"`` that produced the fit.
    bootstrap_samples : ndarray, shape (K, P), or None
        Natural parameter values of every bootstrap resample, ``param_names`` order.
    param_names : tuple of str
        The law's parameter order.
    covariance : ndarray, shape (P, P), or None
        Asymptotic covariance of the natural parameters (Gauss-Newton, delta method); zero rows
        for fixed parameters; None when singular.
    fixed : dict of str to float
        Parameters held at given values instead of fitted.
    source : str or None
        ``"@name"`` of a published set, or the path the fit was loaded from.
    scale : float or None
        Fitted Huber scale s (``huber-mle`` only; s = exp(sigma), log-residual units).
    residual_quantiles : ndarray, shape (101,), or None
        Quantiles 0%, 1%, ..., 100% of log(observed / predicted) for a new run, from the fitted
        runs' residuals (:func:`~distillscale.fitting.intervals.residual_quantiles`); they give
        the prediction interval. None for published sets.
    bounds : dict of str to (float, float), or None
        User bounds the fit was made within (natural units; ``--bound``), None without any.
    ties : dict of str to str, or None
        Tied parameter -> the parameter whose value it took (``--tie``), None without any.
    data_range : dict of str to (float, float), or None
        (min, max) of each input over the fitted runs (counts; losses in nats per token);
        ``predict`` and ``plan`` warn far outside it
        (:mod:`~distillscale.fitting.extrapolation`). None when unknown.

    Notes
    -----
    Fits compare by identity (``eq=False``): they hold arrays, for which ``==`` is elementwise.
    Compare ``to_json()`` documents instead.
    """

    law: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]] | None
    ci_level: float | None
    estimator: str
    delta: float
    objective: float | None
    n_points: int | None
    diagnostics: Diagnostics
    supervised: Fit | None = None
    holdout: tuple[HoldoutRow, ...] | None = None
    data_sha256: str | None = None
    version: str = ""
    bootstrap_samples: NDArray[np.float64] | None = None
    param_names: tuple[str, ...] = ()
    covariance: NDArray[np.float64] | None = None
    fixed: dict[str, float] | None = None
    source: str | None = None
    scale: float | None = None
    residual_quantiles: NDArray[np.float64] | None = None
    bounds: dict[str, tuple[float, float]] | None = None
    ties: dict[str, str] | None = None
    data_range: dict[str, tuple[float, float]] | None = None

    # --- prediction -------------------------------------------------------------------------
    @property
    def law_obj(self) -> Law:
        """The :class:`~distillscale.laws.base.Law` this fit belongs to."""
        return get_law(self.law)

    def _inputs(self, given: Mapping[str, ArrayLike | None]) -> dict[str, NDArray[np.float64]]:
        law = self.law_obj
        missing = [k for k in law.inputs if given.get(k) is None]
        if missing:
            raise InputError(
                f"law {law.name!r} predicts from {', '.join(law.inputs)}",
                hints=(("inputs", "missing " + ", ".join(f"{k}=" for k in missing)),),
            )
        arrays = np.broadcast_arrays(*[np.asarray(given[k], dtype=float) for k in law.inputs])
        out = {k: a for k, a in zip(law.inputs, arrays, strict=True)}
        for k, a in out.items():
            if not np.all(np.isfinite(a)) or np.any(a <= 0):
                raise InputError(f"predict: {k} must be finite and > 0, got {a.ravel()[:5]}")
        if "supervised_loss" in law.derived_inputs:
            if self.supervised is None:
                raise InputError(
                    f"fit of law {law.name!r} has no supervised fit to give supervised_loss"
                )
            out["supervised_loss"] = self.supervised.predict(
                params=out["params"], tokens=out["tokens"]
            )
        return out

    def _predict_with(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Predictions for S fitting-space parameter sets at flattened inputs, shape (S, n).

        Parameters far outside the law's fitted range (an exponent of 1e308) can overflow; such
        entries come back as inf or NaN without a RuntimeWarning, for the caller to refuse.
        """
        with np.errstate(all="ignore"):
            return np.exp(self.law_obj.log_predict(theta, x))

    def _domain_error(self, what: str) -> InputError:
        """The error for a prediction that is not a finite positive number, naming the fit."""
        name = self.source or f"fit of law {self.law!r}"
        return InputError(
            f"{name}: {what} is not a finite positive number at these inputs; the fit's "
            f"parameters ({', '.join(f'{k}={v:g}' for k, v in self.params.items())}) are outside "
            "the range where the law can be evaluated: refit, or check the fit file"
        )

    @overload
    def predict(
        self,
        *,
        params: ArrayLike | None = ...,
        tokens: ArrayLike | None = ...,
        teacher_loss: ArrayLike | None = ...,
        loss: ArrayLike | None = ...,
        interval: Literal[False] = ...,
        level: float | None = ...,
    ) -> NDArray[np.float64]: ...

    @overload
    def predict(
        self,
        *,
        params: ArrayLike | None = ...,
        tokens: ArrayLike | None = ...,
        teacher_loss: ArrayLike | None = ...,
        loss: ArrayLike | None = ...,
        interval: Literal[True],
        level: float | None = ...,
    ) -> Prediction: ...

    def predict(
        self,
        *,
        params: ArrayLike | None = None,
        tokens: ArrayLike | None = None,
        teacher_loss: ArrayLike | None = None,
        loss: ArrayLike | None = None,
        interval: bool = False,
        level: float | None = None,
    ) -> NDArray[np.float64] | Prediction:
        """Predicted loss (nats per token) or error at broadcast inputs, vectorised.

        Parameters
        ----------
        params : array_like, optional
            Model parameters N (count; the convention the fit was made with).
        tokens : array_like, optional
            Training (or distillation) tokens D, count.
        teacher_loss : array_like, optional
            Teacher cross-entropy L_T, nats per token (distillation law).
        loss : array_like, optional
            Validation loss, nats per token (downstream law).
        interval : bool
            Also return intervals (needs ``bootstrap_samples``): the confidence interval of the
            curve (``lower``, ``upper``) and the prediction interval for a new run's observed
            value (``prediction_lower``, ``prediction_upper``), which adds the residual scatter.
        level : float, optional
            Interval coverage; defaults to ``ci_level`` (else 0.9).

        Returns
        -------
        ndarray or Prediction
            Same shape as the broadcast inputs; a :class:`Prediction` when ``interval``.
        """
        given = {"params": params, "tokens": tokens, "teacher_loss": teacher_loss, "loss": loss}
        x = self._inputs(given)
        shape = next(iter(x.values())).shape
        flat = {k: v.ravel() for k, v in x.items()}
        law = self.law_obj
        value = self._predict_with(law.to_fitting(self.params)[None, :], flat)[0].reshape(shape)
        if not np.all(np.isfinite(value) & (value > 0)):
            raise self._domain_error("the prediction")
        if not interval:
            return value
        if self.bootstrap_samples is None:
            raise InputError(
                f"fit of law {self.law!r} has no bootstrap samples for an interval",
                hints=(("bootstrap", "refit with bootstrap=K"),),
            )
        lvl = float(level if level is not None else (self.ci_level or 0.9))
        if not 0.0 < lvl < 1.0:
            raise InputError(f"interval level must be in (0, 1), got {lvl}")
        theta = _samples_to_fitting(law, self.bootstrap_samples)
        pred = self._predict_with(theta, flat)  # (K, n)
        if law.derived_inputs and self.supervised is not None:
            pred = self._paired_supervised(theta, flat, pred)
        pred = np.where(np.isfinite(pred) & (pred > 0), pred, np.nan)
        if np.any(np.isnan(pred).all(axis=0)):
            raise self._domain_error("every bootstrap prediction")
        lo, hi = np.nanpercentile(pred, [50 * (1 - lvl), 50 * (1 + lvl)], axis=0)
        p_lo = p_hi = None
        if self.residual_quantiles is not None:
            with np.errstate(all="ignore"):
                band = prediction_band(np.log(pred), self.residual_quantiles, lvl)
            p_lo, p_hi = band[0].reshape(shape), band[1].reshape(shape)
        return Prediction(
            value=value,
            lower=lo.reshape(shape),
            upper=hi.reshape(shape),
            level=lvl,
            prediction_lower=p_lo,
            prediction_upper=p_hi,
            inputs={k: np.array(x[k], dtype=float) for k in law.inputs},
        )

    def _paired_supervised(
        self,
        theta: NDArray[np.float64],
        flat: dict[str, NDArray[np.float64]],
        pred: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Use the supervised fit's k-th resample with the student's k-th (same count only)."""
        sup = self.supervised
        if sup is None or sup.bootstrap_samples is None:
            return pred
        if sup.bootstrap_samples.shape[0] != theta.shape[0]:
            return pred
        sup_law = sup.law_obj
        sup_theta = _samples_to_fitting(sup_law, sup.bootstrap_samples)
        sx = {"params": flat["params"], "tokens": flat["tokens"]}
        out = np.empty_like(pred)
        law = self.law_obj
        with np.errstate(all="ignore"):
            sup_pred = np.exp(sup_law.log_predict(sup_theta, sx))  # (K, n)
            for k in range(theta.shape[0]):
                xk = dict(flat, supervised_loss=sup_pred[k])
                out[k] = np.exp(law.log_predict(theta[k : k + 1], xk))[0]
        return out

    # --- serialisation (distillscale.fitting.artifact) ---------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The ``distillscale.fit/1`` document as plain JSON data."""
        from distillscale.fitting.artifact import fit_document

        return fit_document(self)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], where: str = "fit document") -> Fit:
        """Build a :class:`Fit` from a ``distillscale.fit/1`` document.

        Every value is checked for type and range: numbers must be finite JSON numbers (not
        strings or booleans), law parameters must lie in the law's domain, and arrays must have
        the law's shape.

        Raises
        ------
        InputError
            When the schema, a key or a value is wrong; the message names ``where`` and the key.
        """
        from distillscale.fitting.artifact import read_fit_document

        return read_fit_document(cls, doc, where)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON artifact atomically (temporary file, then ``os.replace``).

        The file gets the usual permissions (0666 less the umask), like any file a user writes.

        Raises
        ------
        InputError
            When ``path`` is an existing directory or holds a NUL byte.
        """
        from distillscale.fitting.artifact import save_fit

        return save_fit(self, path)

    def with_source(self, source: str) -> Fit:
        """A copy with ``source`` set."""
        return replace(self, source=source)

    # --- text ------------------------------------------------------------------------------
    def summary(self) -> str:
        """Plain-text summary: law, estimator, parameters with intervals, diagnostics."""
        from distillscale.fitting.text import fit_summary

        return fit_summary(self)

    def __repr__(self) -> str:
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: value, ``ci_low``, ``ci_high`` and diagnostics flags."""
        from distillscale.fitting.notebook import fit_frame

        return fit_frame(self)

    def _repr_html_(self) -> str:
        from distillscale.fitting.notebook import fit_html

        return fit_html(self)

    def predict_frame(self, *, interval: bool | None = None, **inputs: ArrayLike) -> pd.DataFrame:
        """:meth:`predict` as a table: one row per point, inputs, output and interval.

        ``fit.predict_frame(params=[1e9, 1e10], tokens=2e10)``; ``interval`` defaults to whether
        the fit has bootstrap samples (columns ``lower``, ``upper``).
        """
        from distillscale.fitting.notebook import predict_frame

        return predict_frame(self, dict(inputs), interval)


def _samples_to_fitting(law: Law, samples: NDArray[np.float64]) -> NDArray[np.float64]:
    """Natural-valued samples (K, P) -> fitting space (K, P)."""
    s = np.asarray(samples, dtype=float)
    if s.ndim != 2 or s.shape[1] != len(law.param_names):
        raise InputError(
            f"bootstrap_samples has shape {s.shape}; law {law.name!r} needs (K, "
            f"{len(law.param_names)})"
        )
    with np.errstate(all="ignore"):
        return np.where(law.log_mask, np.log(np.where(law.log_mask, s, 1.0)), s)
