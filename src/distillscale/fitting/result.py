"""The fit result :class:`Fit`: parameters, intervals, diagnostics, prediction, JSON artifact.

The artifact is docs/conventions.md's ``distillscale.fit/1`` document; :meth:`Fit.to_json` writes
exactly its keys plus ``param_names``, ``covariance``, ``fixed``, ``source``, ``scale`` and
``bootstrap_samples`` (natural parameter values, one row per resample, in ``param_names`` order).
Published coefficient sets load as a :class:`Fit` with ``estimator="published"``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.atomic import atomic_open
from distillscale.errors import InputError
from distillscale.fitting.constraints import read_bounds, read_ties
from distillscale.fitting.extrapolation import read_data_range
from distillscale.fitting.intervals import prediction_band, read_residual_quantiles
from distillscale.laws import LAWS, get_law
from distillscale.laws.base import Law

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SCHEMA",
    "Diagnostics",
    "Fit",
    "HoldoutRow",
    "Prediction",
    "holdout_coverage",
    "load_fit",
    "package_version",
]

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
    warnings : tuple of str
        Plain-language advice (parameters at a bound, ill-conditioning, poorly determined
        parameters, strong correlations).
    condition_number : float or None
        Condition number of the Gauss-Newton curvature J^T J over the free parameters in fitting
        space, scaled to unit diagonal (so it measures correlation, not units).
    poorly_determined : tuple of str
        Parameters the data barely constrain (near-flat directions of the objective, relative
        standard error above 100%, or a bootstrap interval wider than the value).
    """

    converged: bool
    at_bound: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    condition_number: float | None = None
    poorly_determined: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "converged": self.converged,
            "at_bound": list(self.at_bound),
            "warnings": list(self.warnings),
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
            warnings=tuple(raw.get("warnings", ())),
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
    """

    value: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    level: float
    prediction_lower: NDArray[np.float64] | None = None
    prediction_upper: NDArray[np.float64] | None = None

    def to_frame(self) -> pd.DataFrame:
        """Columns ``value``, ``lower``, ``upper``, one row per (flattened) point."""
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
            flags = ", ".join("--" + k.replace("_", "-") for k in missing)
            raise InputError(
                f"law {law.name!r} predicts from {', '.join(law.inputs)}; missing {flags}"
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
                f"fit of law {self.law!r} has no bootstrap samples for an interval; "
                "refit with --bootstrap K (Python: bootstrap=K)"
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

    # --- serialisation ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The ``distillscale.fit/1`` document as plain JSON data."""
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "law": self.law,
            "params": dict(self.params),
            "ci": None if self.ci is None else {k: list(v) for k, v in self.ci.items()},
            "ci_level": self.ci_level,
            "estimator": self.estimator,
            "delta": self.delta,
            "objective": self.objective,
            "n_points": self.n_points,
        }
        if self.supervised is not None:
            doc["supervised"] = self.supervised.to_json()
        if self.holdout is not None:
            doc["holdout"] = [h.to_dict() for h in self.holdout]
        doc["diagnostics"] = self.diagnostics.to_dict()
        doc["data_sha256"] = self.data_sha256
        doc["version"] = self.version
        doc["param_names"] = list(self.param_names)
        doc["fixed"] = dict(self.fixed or {})
        doc["source"] = self.source
        doc["scale"] = self.scale
        doc["covariance"] = None if self.covariance is None else self.covariance.tolist()
        doc["bootstrap_samples"] = (
            None if self.bootstrap_samples is None else self.bootstrap_samples.tolist()
        )
        if self.residual_quantiles is not None:
            doc["residual_quantiles"] = self.residual_quantiles.tolist()
        if self.bounds:
            doc["bounds"] = {k: list(v) for k, v in self.bounds.items()}
        if self.ties:
            doc["ties"] = dict(self.ties)
        if self.data_range:
            doc["data_range"] = {k: list(v) for k, v in self.data_range.items()}
        return _finite(doc)

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
        if not isinstance(doc, Mapping):
            raise InputError(f"{where}: expected a JSON object, got {type(doc).__name__}")
        if doc.get("schema") != SCHEMA:
            raise InputError(
                f"{where}: key 'schema' is {doc.get('schema')!r}; expected {SCHEMA!r} "
                "(write it with `distillscale fit -o FIT.json`)"
            )
        try:
            return _read_fit(cls, doc, where)
        except KeyError as exc:
            raise InputError(f"{where}: missing key {exc.args[0]!r}") from None
        except InputError as exc:
            if str(exc).startswith(where):
                raise
            raise InputError(f"{where}: {exc}") from None
        except (TypeError, ValueError, AttributeError, OverflowError, IndexError) as exc:
            raise InputError(f"{where}: malformed value ({exc})") from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON artifact atomically (temporary file, then ``os.replace``).

        The file gets the usual permissions (0666 less the umask), like any file a user writes.

        Raises
        ------
        InputError
            When ``path`` is an existing directory or holds a NUL byte.
        """
        target = Path(path)
        if "\x00" in str(target):
            raise InputError(f"{str(target)!r}: a file name cannot hold a NUL byte")
        if target.is_dir():
            raise InputError(f"{target}: is a directory; give a file such as {target / 'fit.json'}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(target, "w") as fh:
            json.dump(self.to_json(), fh, indent=2)
            fh.write("\n")
        return target

    def with_source(self, source: str) -> Fit:
        """A copy with ``source`` set."""
        return replace(self, source=source)

    # --- text ------------------------------------------------------------------------------
    def summary(self) -> str:
        """Plain-text summary: law, estimator, parameters with intervals, diagnostics."""
        law = self.law_obj
        head = f"Fit of {law.name} ({law.form}) by {self.estimator}"
        lines = [head]
        obj = "-" if self.objective is None else f"{self.objective:.10g}"
        pts = "-" if self.n_points is None else str(self.n_points)
        lines.append(f"  delta {_g(self.delta)}, points {pts}, objective {obj}")
        if self.source:
            lines.append(f"  source {self.source}")
        level = "" if self.ci_level is None else f"{round(100 * self.ci_level, 1):g}% "
        lines.append(f"  {'param':<8} {'value':>12}   {level + 'interval':<28} note")
        for name in law.param_names:
            value = self.params[name]
            interval = "-"
            if self.ci is not None and name in self.ci:
                lo, hi = self.ci[name]
                interval = f"[{_g(lo)}, {_g(hi)}]"
            note = []
            if self.fixed and name in self.fixed:
                note.append("fixed")
            if self.ties and name in self.ties:
                note.append(f"tied to {self.ties[name]}")
            if self.bounds and name in self.bounds:
                note.append("bounded {:g}..{:g}".format(*self.bounds[name]))
            if name in self.diagnostics.at_bound:
                note.append("at bound")
            if name in self.diagnostics.poorly_determined:
                note.append("poorly determined")
            lines.append(f"  {name:<8} {_g(value):>12}   {interval:<28} {', '.join(note)}".rstrip())
        d = self.diagnostics
        state = "converged" if d.converged else "NOT converged"
        cond = "" if d.condition_number is None else f", condition number {d.condition_number:.3g}"
        lines.append(f"  diagnostics: {state}{cond}")
        lines.extend(f"  warning: {w}" for w in d.warnings)
        if self.holdout:
            errs = np.abs([h.rel_error for h in self.holdout])
            lines.append(
                f"  holdout: {len(self.holdout)} runs, mean |rel error| {errs.mean():.3%}, "
                f"max {errs.max():.3%}"
            )
            cover = holdout_coverage(self.holdout, self.ci_level)
            if cover:
                lines.append(f"  holdout: {cover}")
        if self.supervised is not None:
            sub = self.supervised.summary().splitlines()
            lines.append("  supervised:")
            lines.extend("    " + s for s in sub)
        return "\n".join(lines)

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


def holdout_coverage(rows: tuple[HoldoutRow, ...], level: float | None) -> str:
    """``"90% prediction interval covers 7 of 8 held-out runs (88%)"``, or "" without one."""
    flags = [h.inside for h in rows if h.inside is not None]
    if not flags:
        return ""
    hit = sum(bool(f) for f in flags)
    pct = "" if level is None else f"{round(100 * level, 1):g}% "
    return (
        f"{pct}prediction interval covers {hit} of {len(flags)} held-out runs "
        f"({hit / len(flags):.0%})"
    )


def _g(value: float) -> str:
    """Six significant digits, for reprs that are stable across platforms."""
    return f"{value:.6g}"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


# --- reading a fit document ----------------------------------------------------------------
_NUMBER = "a finite number"


def _show(value: Any) -> str:
    """A short repr of a found value, for messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(where: str, key: str, found: Any, allowed: str) -> InputError:
    return InputError(
        f"{where}: key {key!r} is malformed: found {_show(found)}; expected {allowed}"
    )


def _is_number(value: Any) -> bool:
    """A JSON number, or a numpy one from the Python API; booleans are not numbers here."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _number(where: str, key: str, value: Any, *, positive: bool = False) -> float:
    """A finite JSON number (not a string or boolean); ``positive`` requires > 0."""
    ok = _is_number(value)
    number = float(value) if ok else math.nan
    if not math.isfinite(number) or (positive and number <= 0):
        raise _bad(where, key, value, "a finite number > 0" if positive else _NUMBER)
    return number


def _optional_number(where: str, key: str, value: Any, *, positive: bool = False) -> float | None:
    """:func:`_number`, or None for null."""
    return None if value is None else _number(where, key, value, positive=positive)


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(where, key, value, "a list of strings")
    return tuple(value)


def _optional_str(where: str, key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _bad(where, key, value, "a string or null")
    return value


def _mapping(where: str, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, key, value, "a JSON object")
    return value


def _named_numbers(where: str, key: str, value: Any, law: Law) -> dict[str, float]:
    """``{"E": 1.8, ...}``: finite numbers named by the law's parameters."""
    out: dict[str, float] = {}
    for name, v in _mapping(where, key, value).items():
        if name not in law.param_names:
            raise InputError(
                f"{where}: key '{key}.{name}' is not a parameter of law {law.name!r} "
                f"({', '.join(law.param_names)})"
            )
        out[name] = _number(where, f"{key}.{name}", v)
    return out


def _array(
    where: str, key: str, value: Any, shape: tuple[int | None, int], *, finite: bool
) -> NDArray[np.float64]:
    """A nested list of numbers with ``shape`` (None: any length >= 1).

    Nulls are NaN unless ``finite`` (``to_json`` writes a non-finite entry as null).
    """
    rows = value if isinstance(value, list) else None
    allowed = f"a list of {shape[0] or 'K'} lists of {shape[1]} " + (
        "finite numbers" if finite else "numbers or nulls"
    )
    if not rows or (shape[0] is not None and len(rows) != shape[0]):
        raise _bad(where, key, value, allowed)
    for row in rows:
        if not isinstance(row, list) or len(row) != shape[1]:
            raise _bad(where, key, row, allowed)
        for v in row:
            number = _is_number(v)
            if not (number or (v is None and not finite)) or (
                finite and not math.isfinite(float(v))
            ):
                raise _bad(where, key, v, allowed)
    return np.array(rows, dtype=float)


def _read_law(where: str, key: str, value: Any) -> Law:
    if not isinstance(value, str):
        raise _bad(where, key, value, f"a law name ({', '.join(LAWS)})")
    try:
        return get_law(value)
    except InputError as exc:
        raise InputError(f"{where}: key {key!r}: {exc}") from None


def _in_domain(where: str, key: str, law: Law, values: Mapping[str, float]) -> None:
    """Scale parameters (fitted as logs) must be > 0: the law's own check, naming the key."""
    try:
        law.to_fitting(values)
    except InputError as exc:
        raise InputError(f"{where}: key {key!r}: {exc}") from None


def _read_ci(where: str, value: Any, law: Law) -> dict[str, tuple[float, float]] | None:
    if value is None:
        return None
    out: dict[str, tuple[float, float]] = {}
    for name, pair in _mapping(where, "ci", value).items():
        key = f"ci.{name}"
        if name not in law.param_names:
            raise InputError(
                f"{where}: key {key!r} is not a parameter of law {law.name!r} "
                f"({', '.join(law.param_names)})"
            )
        if not isinstance(pair, list) or len(pair) != 2:
            raise _bad(where, key, pair, "a [low, high] pair of finite numbers")
        lo, hi = (_number(where, key, v) for v in pair)
        out[name] = (lo, hi)
    return out


def _read_diagnostics(where: str, value: Any) -> Diagnostics:
    raw = _mapping(where, "diagnostics", value)
    if "converged" not in raw:
        raise InputError(f"{where}: missing key 'diagnostics.converged'")
    converged = raw["converged"]
    if not isinstance(converged, bool):
        raise _bad(where, "diagnostics.converged", converged, "true or false")
    cond = raw.get("condition_number")
    return Diagnostics(
        converged=converged,
        at_bound=_strings(where, "diagnostics.at_bound", raw.get("at_bound", [])),
        warnings=_strings(where, "diagnostics.warnings", raw.get("warnings", [])),
        condition_number=_optional_number(where, "diagnostics.condition_number", cond),
        poorly_determined=_strings(
            where, "diagnostics.poorly_determined", raw.get("poorly_determined", [])
        ),
    )


def _read_holdout(where: str, value: Any) -> tuple[HoldoutRow, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad(where, "holdout", value, "a list of objects")
    rows = []
    for i, raw in enumerate(value):
        key = f"holdout[{i}]"
        row = _mapping(where, key, raw)
        required = {"run", "observed", "predicted", "rel_error"}
        if not required <= set(row) <= required | {"prediction_interval", "inside"}:
            raise _bad(
                where,
                key,
                sorted(row),
                "keys run, observed, predicted, rel_error (and prediction_interval, inside)",
            )
        if not isinstance(row["run"], str):
            raise _bad(where, f"{key}.run", row["run"], "a string")
        lower = upper = inside = None
        if "prediction_interval" in row or "inside" in row:
            band = row.get("prediction_interval")
            if not isinstance(band, list) or len(band) != 2:
                raise _bad(where, f"{key}.prediction_interval", band, "a [low, high] pair")
            lower, upper = (_number(where, f"{key}.prediction_interval", v) for v in band)
            inside = row.get("inside")
            if not isinstance(inside, bool):
                raise _bad(where, f"{key}.inside", inside, "true or false")
        rows.append(
            HoldoutRow(
                run=row["run"],
                observed=_number(where, f"{key}.observed", row["observed"]),
                predicted=_number(where, f"{key}.predicted", row["predicted"]),
                rel_error=_number(where, f"{key}.rel_error", row["rel_error"]),
                lower=lower,
                upper=upper,
                inside=inside,
            )
        )
    return tuple(rows)


def _read_fit(cls: type[Fit], doc: Mapping[str, Any], where: str) -> Fit:
    """The body of :meth:`Fit.from_json`: every key checked, each refusal naming it."""
    law = _read_law(where, "law", doc["law"])
    params = _named_numbers(where, "params", doc["params"], law)
    if set(params) != set(law.param_names):
        raise InputError(
            f"{where}: key 'params' has {sorted(params)}; law {law.name!r} needs "
            f"{', '.join(law.param_names)}"
        )
    _in_domain(where, "params", law, params)
    fixed = _named_numbers(where, "fixed", doc.get("fixed") or {}, law)
    names = doc.get("param_names") or list(law.param_names)
    if names != list(law.param_names):
        raise _bad(where, "param_names", names, f"{list(law.param_names)} (law {law.name!r})")
    ci_level = _optional_number(where, "ci_level", doc.get("ci_level"))
    if ci_level is not None and not 0.0 < ci_level < 1.0:
        raise _bad(where, "ci_level", ci_level, "a coverage in (0, 1), e.g. 0.9, or null")
    n_points = doc.get("n_points")
    if n_points is not None and (
        not _is_number(n_points) or not isinstance(n_points, Integral) or n_points < 1
    ):
        raise _bad(where, "n_points", n_points, "a whole number of runs >= 1, or null")
    objective = _optional_number(where, "objective", doc.get("objective"))
    if objective is not None and objective < 0:
        raise _bad(where, "objective", objective, "a summed Huber loss >= 0, or null")
    p = len(law.param_names)
    samples = doc.get("bootstrap_samples")
    if samples is not None:
        samples = _array(where, "bootstrap_samples", samples, (None, p), finite=True)
        if np.any(samples[:, law.log_mask] <= 0):
            raise _bad(where, "bootstrap_samples", "a value <= 0", "scale parameters > 0")
    cov = doc.get("covariance")
    if cov is not None:
        cov = _array(where, "covariance", cov, (p, p), finite=False)
    estimator = doc["estimator"]
    if not isinstance(estimator, str):
        raise _bad(where, "estimator", estimator, "a string such as 'huber-grid'")
    version = doc.get("version", "")
    if not isinstance(version, str):
        raise _bad(where, "version", version, "a string")
    sup = doc.get("supervised")
    if sup is not None and not law.derived_inputs:
        raise InputError(f"{where}: key 'supervised': law {law.name!r} takes no supervised fit")
    supervised = None if sup is None else cls.from_json(sup, f"{where} (supervised)")
    if supervised is not None and supervised.law_obj.inputs != ("params", "tokens"):
        raise InputError(
            f"{where}: key 'supervised' is a fit of law {supervised.law!r}; expected a "
            "supervised law of params and tokens (chinchilla or chinchilla-gamma)"
        )
    return cls(
        law=law.name,
        params=params,
        ci=_read_ci(where, doc.get("ci"), law),
        ci_level=ci_level,
        estimator=estimator,
        delta=_number(where, "delta", doc["delta"], positive=True),
        objective=objective,
        n_points=None if n_points is None else int(n_points),
        diagnostics=_read_diagnostics(where, doc["diagnostics"]),
        supervised=supervised,
        holdout=_read_holdout(where, doc.get("holdout")),
        data_sha256=_optional_str(where, "data_sha256", doc.get("data_sha256")),
        version=version,
        bootstrap_samples=samples,
        param_names=law.param_names,
        covariance=cov,
        fixed=fixed,
        source=_optional_str(where, "source", doc.get("source")),
        scale=_optional_number(where, "scale", doc.get("scale"), positive=True),
        residual_quantiles=read_residual_quantiles(where, doc.get("residual_quantiles")),
        bounds=read_bounds(where, doc.get("bounds"), law) or None,
        ties=read_ties(where, doc.get("ties"), law) or None,
        data_range=read_data_range(where, doc.get("data_range"), law.inputs) or None,
    )


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


def _from_published(name: str) -> Fit:
    from distillscale.laws.published import load_published

    ps = load_published(name)
    law = get_law(ps.law)
    return Fit(
        law=ps.law,
        params=dict(ps.params),
        ci=None if ps.ci is None else dict(ps.ci),
        ci_level=ps.ci_level,
        estimator="published",
        delta=law.default_delta,
        objective=None,
        n_points=ps.n_points,
        diagnostics=Diagnostics(converged=True),
        supervised=None if ps.supervised is None else _from_published(ps.supervised.name),
        version=package_version(),
        param_names=law.param_names,
        source="@" + ps.name,
        data_range=None if ps.data_range is None else dict(ps.data_range),
    )


def load_fit(path_or_name: str | os.PathLike[str]) -> Fit:
    """Load a fit artifact from a JSON file, or a published set as ``"@name"``.

    Parameters
    ----------
    path_or_name : str or path
        ``FIT.json`` written by ``distillscale fit -o``, or ``"@busbridge2025"`` etc.

    Returns
    -------
    Fit
        ``source`` is the path or ``"@name"``; published sets have ``estimator="published"``
        and the paper's intervals as ``ci``.
    """
    text = str(path_or_name)
    if text.startswith("@"):
        return _from_published(text)
    path = Path(text)
    if "\x00" in text:
        raise InputError(
            f"{text!r}: a file name cannot hold a NUL byte; give a FIT.json written by "
            "`distillscale fit -o` or a published set such as @hoffmann2022"
        )
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read fit file ({exc.strerror or exc}); give a FIT.json written by "
            "`distillscale fit -o` or a published set such as @hoffmann2022"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (found byte 0x{exc.object[exc.start]:02x}); a fit file "
            "is JSON written by `distillscale fit -o`"
        ) from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    return Fit.from_json(doc, str(path)).with_source(str(path))
