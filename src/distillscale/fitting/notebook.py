"""Notebook views of fits and predictions: ``to_frame()`` tables and ``_repr_html_``.

:class:`~distillscale.fitting.result.Fit` and :class:`~distillscale.fitting.result.Prediction`
delegate here. The HTML is built with the standard library (no pandas needed to display a fit);
pandas is imported only by the ``*_frame`` functions. Units as in the fit: losses in nats per
token, parameters in their natural (not log) values.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from distillscale.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from distillscale.fitting.result import Fit, Prediction

__all__ = [
    "fit_frame",
    "fit_html",
    "html_table",
    "predict_frame",
    "prediction_frame",
    "prediction_html",
]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return html.escape(str(value))


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """A plain HTML table; numbers to six significant digits, text escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    style = "text-align:left;white-space:nowrap"
    cap = f"<caption style='{style}'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _param_rows(fit: Fit) -> list[tuple[str, float, float | None, float | None, bool, bool, bool]]:
    rows = []
    for name in fit.law_obj.param_names:
        lo, hi = (fit.ci or {}).get(name, (None, None))
        rows.append(
            (
                name,
                float(fit.params[name]),
                lo,
                hi,
                name in (fit.fixed or {}),
                name in fit.diagnostics.at_bound,
                name in fit.diagnostics.poorly_determined,
            )
        )
    return rows


_FIT_COLUMNS = ("value", "ci_low", "ci_high", "fixed", "at_bound", "poorly_determined")


def fit_frame(fit: Fit) -> pd.DataFrame:
    """One row per parameter (index ``param``): value, interval bounds and diagnostics flags.

    ``ci_low``/``ci_high`` are the interval at ``fit.ci_level`` (NaN without one).
    """
    import pandas as pd

    rows = _param_rows(fit)
    frame = pd.DataFrame(
        [r[1:] for r in rows], columns=list(_FIT_COLUMNS), index=[r[0] for r in rows]
    )
    frame[["ci_low", "ci_high"]] = frame[["ci_low", "ci_high"]].astype(float)
    frame.index.name = "param"
    return frame


def fit_html(fit: Fit) -> str:
    """The fit as HTML: law and form, parameter table, diagnostics, held-out summary."""
    law = fit.law_obj
    level = "" if fit.ci_level is None else f" {round(100 * fit.ci_level, 1):g}%"
    runs = f", {fit.n_points} runs" if fit.n_points is not None else ""
    title = f"{law.name}: {law.form} ({fit.estimator}{runs})"
    rows = [
        (
            name,
            value,
            "" if lo is None else f"[{lo:.6g}, {hi:.6g}]",
            ", ".join(
                label
                for label, on in (("fixed", fx), ("at bound", ab), ("poorly determined", pd_))
                if on
            ),
        )
        for name, value, lo, hi, fx, ab, pd_ in _param_rows(fit)
    ]
    parts = [html_table(("param", "value", f"interval{level}", "note"), rows, title)]
    notes = []
    if fit.objective is not None:
        notes.append(f"objective {fit.objective:.10g} (summed Huber, delta {fit.delta:g})")
    d = fit.diagnostics
    notes.append("converged" if d.converged else "<b>not converged</b>")
    if d.condition_number is not None:
        notes.append(f"condition number {d.condition_number:.3g}")
    if fit.holdout:
        errs = np.abs([h.rel_error for h in fit.holdout])
        notes.append(
            f"held out: {len(errs)} runs, mean |rel error| {errs.mean():.3%}, max {errs.max():.3%}"
        )
    if fit.source:
        notes.append(f"source {html.escape(fit.source)}")
    parts.append("<p>" + "; ".join(notes) + "</p>")
    if d.warnings:
        parts.append(
            "<ul>" + "".join(f"<li>{html.escape(str(w))}</li>" for w in d.warnings) + "</ul>"
        )
    if fit.supervised is not None:
        parts.append("<details><summary>supervised fit (gives Ltilde_S)</summary>")
        parts.append(fit_html(fit.supervised) + "</details>")
    return "<div class='distillscale-fit'>" + "".join(parts) + "</div>"


def _prediction_columns(prediction: Prediction) -> dict[str, np.ndarray]:
    """Inputs, ``value``, ``lower``, ``upper`` and (when there is one) the prediction interval."""
    columns = {k: np.ravel(v) for k, v in (prediction.inputs or {}).items()}
    columns["value"] = np.ravel(prediction.value)
    columns["lower"] = np.ravel(prediction.lower)
    columns["upper"] = np.ravel(prediction.upper)
    if prediction.prediction_lower is not None and prediction.prediction_upper is not None:
        columns["prediction_lower"] = np.ravel(prediction.prediction_lower)
        columns["prediction_upper"] = np.ravel(prediction.prediction_upper)
    return columns


def prediction_frame(prediction: Prediction) -> pd.DataFrame:
    """One row per point (flattened inputs order): inputs, value and interval bounds.

    Columns: the law's inputs (``params``, ``tokens``, ...) when known, ``value``, ``lower``,
    ``upper`` (confidence interval of the curve) and ``prediction_lower``/``prediction_upper``
    (interval for a new run, with the residual scatter) when the fit has one.
    """
    import pandas as pd

    return pd.DataFrame(_prediction_columns(prediction))


def prediction_html(prediction: Prediction, max_rows: int = 50) -> str:
    """The first ``max_rows`` points: inputs, prediction and intervals, as an HTML table."""
    columns = _prediction_columns(prediction)
    level = f"{round(100 * prediction.level, 1):g}%"
    header = [
        {"lower": f"curve {level} low", "upper": f"curve {level} high"}.get(k, k) for k in columns
    ]
    header = [
        {
            "prediction_lower": f"new run {level} low",
            "prediction_upper": f"new run {level} high",
        }.get(h, h)
        for h in header
    ]
    n = len(columns["value"])
    rows = [tuple(float(c[i]) for c in columns.values()) for i in range(min(n, max_rows))]
    caption = f"{n} predictions with {level} bootstrap intervals"
    more = f"<p>... {n - max_rows} more</p>" if n > max_rows else ""
    return html_table(header, rows, caption) + more


def predict_frame(fit: Fit, inputs: dict[str, Any], interval: bool | None = None) -> pd.DataFrame:
    """A table of predictions: the law's inputs, the output and (with samples) the interval.

    Parameters
    ----------
    fit : Fit
        The fit to evaluate.
    inputs : dict
        ``params``, ``tokens``, ``teacher_loss``, ``loss`` (as :meth:`Fit.predict` takes them;
        they broadcast and are flattened, one row per point).
    interval : bool, optional
        Add ``lower`` and ``upper`` (bootstrap interval at ``ci_level``); default: when the fit
        has bootstrap samples.
    """
    import pandas as pd

    law = fit.law_obj
    names = ("params", "tokens", "teacher_loss", "loss")
    unknown = sorted(set(inputs) - set(names))
    if unknown:
        raise InputError(f"predict_frame: unknown input {unknown[0]!r}; use {', '.join(names)}")
    given = {k: inputs.get(k) for k in names}
    n, d, lt, lv = (given[k] for k in names)
    with_band = fit.bootstrap_samples is not None if interval is None else interval
    band: Prediction | None = None
    if with_band:
        band = fit.predict(params=n, tokens=d, teacher_loss=lt, loss=lv, interval=True)
        value = band.value
    else:
        value = fit.predict(params=n, tokens=d, teacher_loss=lt, loss=lv)
    shape = np.shape(value)
    columns = {
        k: np.ravel(np.broadcast_to(np.asarray(given[k], dtype=float), shape)) for k in law.inputs
    }
    columns[law.output] = np.ravel(value)
    if band is not None:
        columns["lower"] = np.ravel(band.lower)
        columns["upper"] = np.ravel(band.upper)
    return pd.DataFrame(columns)
