"""``distillscale.fit``: read a run table, pick an estimator, bootstrap, hold out, return a Fit.

The distillation law needs the supervised law at each student's (N, D). Give a supervised fit
(``supervised=`` a :class:`Fit`, a path or ``"@busbridge2025-supervised"``), or a table with a
``kind`` column: then its ``teacher`` and ``baseline`` rows fit ``supervised_law`` first and its
``student`` rows fit the distillation law with that fit, which the result nests as
``supervised``. With a ``kind`` column the distillation law only ever sees ``student`` rows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.fitting.bootstrap import Bootstrap, Progress
from distillscale.fitting.constraints import BoundSpec, TieSpec
from distillscale.fitting.extrapolation import check_absurd
from distillscale.fitting.huber_grid import HuberGrid
from distillscale.fitting.huber_mle import HuberMLE
from distillscale.fitting.least_squares import LeastSquares
from distillscale.fitting.prepare import FixedSpec, resolve_law, run_ids
from distillscale.fitting.result import Fit, HoldoutRow, load_fit
from distillscale.laws.base import Law
from distillscale.runs import SUPERVISED_KINDS
from distillscale.table import RunTable, read_runs

__all__ = ["ESTIMATORS", "fit", "predict"]

#: Estimator names accepted by :func:`fit` and ``distillscale fit --estimator``.
ESTIMATORS = ("huber-grid", "huber-mle", "least-squares")

DataSource: TypeAlias = str | os.PathLike[str] | pd.DataFrame | RunTable
_SUPERVISED_KINDS = f"kind in {list(SUPERVISED_KINDS)}"
_STUDENT_KIND = "kind == 'student'"


def _and(*exprs: str | None) -> str | None:
    parts = [f"({e})" for e in exprs if e]
    return " and ".join(parts) if parts else None


def _read(
    data: DataSource,
    law: Law,
    where: str | None,
    columns: Mapping[str, str] | None,
    drop_invalid: bool,
    loss_unit: str = "nats",
    bytes_per_token: float | None = None,
) -> RunTable:
    source = data.frame if isinstance(data, RunTable) else data
    required = (*law.inputs, law.output)
    table = read_runs(
        source,
        columns=columns,
        where=where,
        drop_invalid=drop_invalid,
        required=required,
        loss_unit=loss_unit,
        bytes_per_token=bytes_per_token,
    )
    if len(table) == 0:
        raise InputError(
            f"{table.source}: no runs left for law {law.name!r} after the filter {where!r}; "
            "loosen the filter"
        )
    return table


def _has_kind(data: DataSource, columns: Mapping[str, str] | None) -> bool:
    if isinstance(data, RunTable | pd.DataFrame):
        frame = data.frame if isinstance(data, RunTable) else data
        return "kind" in frame.columns or "kind" in (columns or {})
    return "kind" in read_runs(data, columns=columns).frame.columns


def _make_estimator(
    estimator: str,
    law: Law,
    delta: float | None,
    fixed: FixedSpec | None,
    supervised: Fit | str | None,
    bounds: BoundSpec | None = None,
    ties: TieSpec | None = None,
) -> HuberGrid | HuberMLE | LeastSquares:
    if estimator == "huber-grid":
        return HuberGrid(
            law, delta=delta, fixed=fixed, bounds=bounds, ties=ties, supervised=supervised
        )
    if estimator == "huber-mle":
        return HuberMLE(
            law, delta=delta, fixed=fixed, bounds=bounds, ties=ties, supervised=supervised
        )
    if estimator == "least-squares":
        return LeastSquares(
            law, delta=delta, fixed=fixed, bounds=bounds, ties=ties, supervised=supervised
        )
    raise _unknown_estimator(estimator)


def _unknown_estimator(estimator: str) -> InputError:
    return InputError(
        f": unknown; choose one of {', '.join(ESTIMATORS)}",
        subject=("estimator", f"estimator={estimator!r}", repr(estimator)),
    )


def _holdout(result: Fit, table: RunTable) -> tuple[HoldoutRow, ...]:
    """Observed vs predicted on held-out runs, with the prediction interval when there is one."""
    law = result.law_obj
    x = {k: table.column(k) for k in law.inputs}
    n, d, lt, lv = (x.get(k) for k in ("params", "tokens", "teacher_loss", "loss"))
    observed = table.column(law.output)
    if result.bootstrap_samples is None:
        predicted = result.predict(params=n, tokens=d, teacher_loss=lt, loss=lv)
        lower = upper = None
    else:
        pred = result.predict(params=n, tokens=d, teacher_loss=lt, loss=lv, interval=True)
        predicted, lower, upper = pred.value, pred.prediction_lower, pred.prediction_upper
    rows = []
    for i, (r, o, p) in enumerate(zip(run_ids(table), observed, predicted, strict=True)):
        row = HoldoutRow(run=r, observed=float(o), predicted=float(p), rel_error=float((p - o) / o))
        if lower is not None and upper is not None:
            lo, hi = float(lower[i]), float(upper[i])
            row = replace(row, lower=lo, upper=hi, inside=bool(lo <= o <= hi))
        rows.append(row)
    return tuple(rows)


def fit(
    data: DataSource,
    law: str | Law = "chinchilla",
    *,
    estimator: Literal["huber-grid", "huber-mle", "least-squares"] | str = "huber-grid",
    delta: float | None = None,
    bootstrap: int = 0,
    ci: float = 0.9,
    seed: int | None = None,
    where: str | None = None,
    train_where: str | None = None,
    test_where: str | None = None,
    columns: Mapping[str, str] | None = None,
    fixed: FixedSpec | None = None,
    bounds: BoundSpec | None = None,
    ties: TieSpec | None = None,
    supervised: Fit | str | None = None,
    supervised_law: str = "chinchilla-gamma",
    drop_invalid: bool = False,
    progress: Progress | None = None,
    loss_unit: str = "nats",
    bytes_per_token: float | None = None,
) -> Fit:
    """Fit a scaling law to a run table.

    Parameters
    ----------
    data : path, DataFrame or RunTable
        The runs (CSV/TSV/Parquet/JSON Lines; canonical columns of docs/conventions.md: ``params``
        and ``tokens`` counts, ``loss`` nats per token, ...).
    law : str or Law
        Law name (``"chinchilla"``, ``"chinchilla-gamma"``, ``"distillation"``, ...).
    estimator : {"huber-grid", "huber-mle", "least-squares"}
        Grid of L-BFGS-B-equivalent starts, the Huber likelihood with a fitted scale, or plain
        least squares on the raw output from the law's start grid (Gadre et al. 2024).
    delta : float, optional
        Huber threshold on log residuals (law default: 1e-3 supervised, 1e-4 distillation);
        with ``least-squares`` it only sets the recorded ``objective`` and diagnostics.
    bootstrap : int
        K resamples for percentile intervals (0: none).
    ci : float
        Interval coverage (0.9 = 5th to 95th percentile).
    seed : int, optional
        Bootstrap seed (``np.random.default_rng(seed)``).
    where : str, optional
        pandas query selecting the runs (``"outlier == 0"``).
    train_where, test_where : str, optional
        Fit on the runs matching ``train_where``; report observed, predicted and relative error
        on those matching ``test_where`` (``holdout``). Give both or neither.
    columns : mapping, optional
        Canonical name -> your column name (``{"params": "n_params"}``).
    fixed : mapping, optional
        Parameters held fixed: ``{"c1": 522.6, "f1": "@busbridge2025"}``.
    bounds : mapping, optional
        Natural-unit bounds inside the law's range: ``{"E": (0.5, 3.0)}`` (``--bound``). They
        narrow the start grid and every minimiser, and a parameter that ends on one is flagged.
    ties : mapping, optional
        ``{"alpha": "beta"}``: alpha takes beta's value, one free parameter shared (``--tie``).
        With a ``kind`` column, bounds and ties apply to the student (distillation) law only.
    supervised : Fit, str, optional
        Supervised fit (or path or ``"@name"``) for the distillation law.
    supervised_law : str
        Law fitted to ``teacher``/``baseline`` rows when the distillation law is fitted from a
        table with a ``kind`` column and no ``supervised`` fit.
    drop_invalid : bool
        Drop invalid rows with a warning instead of failing.
    progress : callable, optional
        ``progress(done, total)`` during the bootstrap.
    loss_unit : {"nats", "bits", "bpb"}
        Unit of ``loss`` and ``teacher_loss`` in ``data`` (``read_runs``); the fit is always in
        nats per token. ``where`` filters see the values as stored.
    bytes_per_token : float, optional
        Bytes per token, for ``loss_unit="bpb"``.

    Returns
    -------
    Fit
    """
    law_obj = resolve_law(law)
    if estimator not in ESTIMATORS:
        raise _unknown_estimator(estimator)
    if (train_where is None) != (test_where is None):
        raise InputError(
            "the train and test filters go together",
            hints=(("test_where", "give both train_where= and test_where=, or neither"),),
        )
    if int(bootstrap) < 0:
        raise InputError(
            ": must be >= 0 resamples",
            subject=("bootstrap", f"bootstrap={bootstrap}", f"{bootstrap}"),
        )
    if seed is not None and int(seed) < 0:
        raise InputError(": must be an integer >= 0", subject=("seed", f"seed={seed}", f"{seed}"))
    needs_sup = "supervised_loss" in law_obj.derived_inputs
    student_filter = None
    if needs_sup and _has_kind(data, columns):
        student_filter = _STUDENT_KIND  # the student law is fitted to student rows only
    if needs_sup and supervised is None and student_filter is not None:
        sup_law = resolve_law(supervised_law)
        supervised = fit(
            data,
            sup_law,
            estimator=estimator,
            bootstrap=bootstrap,
            ci=ci,
            seed=seed,
            where=_and(where, _SUPERVISED_KINDS),
            train_where=train_where,
            test_where=test_where,
            columns=columns,
            drop_invalid=drop_invalid,
            progress=progress,
            loss_unit=loss_unit,
            bytes_per_token=bytes_per_token,
        )
    units = (loss_unit, bytes_per_token)
    base_where = _and(where, student_filter)
    train = _read(data, law_obj, _and(base_where, train_where), columns, drop_invalid, *units)
    est = _make_estimator(str(estimator), law_obj, delta, fixed, supervised, bounds, ties)
    if bootstrap:
        boot = Bootstrap(est, n_resamples=int(bootstrap), ci=ci, seed=seed, progress=progress)
        result = boot.fit(train).result_
    else:
        result = est.fit(train).result_
    if test_where is not None:
        test = _read(data, law_obj, _and(base_where, test_where), columns, drop_invalid, *units)
        result = replace(result, holdout=_holdout(result, test))
    return result


def predict(
    fit_or_name: Fit | str | os.PathLike[str],
    *,
    params: ArrayLike | None = None,
    tokens: ArrayLike | None = None,
    teacher_loss: ArrayLike | None = None,
    loss: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Predict with a fit, a fit file or a published set (``distillscale predict``).

    Parameters
    ----------
    fit_or_name : Fit, str or path
        A :class:`Fit`, a ``FIT.json`` path, or ``"@busbridge2025"`` etc.
    params : array_like, optional
        Model size N (parameters, counted as the fit's data counted them).
    tokens : array_like, optional
        Training (or distillation) tokens D.
    teacher_loss : array_like, optional
        Teacher cross-entropy L_T, nats per token (distillation law).
    loss : array_like, optional
        Validation loss, nats per token (downstream law).

    Returns
    -------
    ndarray
        Predicted loss in nats per token (error fraction for ``downstream``), broadcast over
        the inputs.

    Raises
    ------
    InputError
        When a predicted loss exceeds 100 nats per token (an absurd extrapolation).
    """
    fitted = fit_or_name if isinstance(fit_or_name, Fit) else load_fit(fit_or_name)
    value = fitted.predict(params=params, tokens=tokens, teacher_loss=teacher_loss, loss=loss)
    check_absurd(value, fitted.law_obj.output, fitted.source or f"fit of law {fitted.law!r}")
    return value
