"""Fitted curves against the data, and residuals (``distillscale fit --plot``).

Left panel: the runs (output against tokens, one colour per model-size group) and the fitted law
through each group: the curve is the law at the group's geometric-mean size (and median teacher
loss, for the distillation law) over the group's token range. Runs are grouped by distinct size
when there are at most eight sizes, otherwise into eight bins of log size. The downstream law
(error from loss) is drawn as error against loss with one curve. Held-out runs (``--test-where``)
are crosses. Right panel: relative residuals (predicted - observed) / observed, in percent,
against the prediction.

matplotlib is the ``report`` extra, loaded through :func:`distillscale.errors.require`; no
pyplot state is touched (a bare :class:`matplotlib.figure.Figure` is drawn and saved).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from distillscale.atomic import atomic_path
from distillscale.errors import InputError, require
from distillscale.fitting.api import DataSource, _and, _has_kind, _read
from distillscale.fitting.result import Fit
from distillscale.table import RunTable

__all__ = ["PLOT_SUFFIXES", "check_plot_target", "fitted_tables", "plot_fit"]

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
_MAX_GROUPS = 8


def _subject(target: Path, shown: str) -> tuple[str, str, str]:
    """The plot's path as an error's subject: ``path='a.txt'`` (``--plot a.txt``)."""
    return ("plot", f"path={str(target)!r}", shown)


def check_plot_target(path: str | os.PathLike[str], feature: str = "plot_fit") -> Path:
    """The plot's path, checked before any work: known suffix, existing folder, matplotlib.

    Raises
    ------
    InputError
        Another suffix, a missing folder, or matplotlib not installed (with the pip command).
    """
    target = Path(path)
    if target.suffix.lower() not in PLOT_SUFFIXES:
        raise InputError(
            f": the format comes from the suffix; use {', '.join(PLOT_SUFFIXES)}",
            subject=_subject(target, repr(str(target))),
        )
    if not target.parent.is_dir():
        raise InputError(
            f": folder {target.parent} does not exist", subject=_subject(target, str(target))
        )
    require("matplotlib.figure", "report", feature)
    return target


def _predict(fit: Fit, x: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    return fit.predict(
        params=x.get("params"),
        tokens=x.get("tokens"),
        teacher_loss=x.get("teacher_loss"),
        loss=x.get("loss"),
    )


def _groups(params: NDArray[np.float64]) -> NDArray[np.int_]:
    """Group index per run: distinct sizes (<= 8 of them) or 8 bins of log size."""
    distinct, index = np.unique(np.round(np.log10(params), 6), return_inverse=True)
    if len(distinct) <= _MAX_GROUPS:
        return index.astype(int)
    logn = np.log10(params)
    edges = np.quantile(logn, np.linspace(0, 1, _MAX_GROUPS + 1))
    return np.clip(np.searchsorted(edges, logn, side="right") - 1, 0, _MAX_GROUPS - 1)


def _inputs(table: RunTable, fit: Fit) -> dict[str, NDArray[np.float64]]:
    return {k: table.column(k) for k in fit.law_obj.inputs}


def plot_fit(
    path: str | os.PathLike[str],
    fit: Fit,
    table: RunTable,
    held_out: RunTable | None = None,
) -> Path:
    """Draw ``fit`` against the runs of ``table`` (and ``held_out``) and save it to ``path``.

    Parameters
    ----------
    path : str or path
        Output file; ``.png``, ``.svg`` or ``.pdf`` (by suffix).
    fit : Fit
        The fit to draw.
    table : RunTable
        The runs it was fitted on (canonical units: losses in nats per token).
    held_out : RunTable, optional
        Held-out runs, drawn as crosses.

    Returns
    -------
    Path
        The file written.
    """
    target = check_plot_target(path)
    figure_mod: Any = require("matplotlib.figure", "report", "plot_fit")
    law = fit.law_obj
    fig = figure_mod.Figure(figsize=(10.0, 4.2), layout="constrained")
    ax, rx = fig.subplots(1, 2)
    out_label = "error (fraction)" if law.output == "error" else f"{law.output} (nats per token)"
    sets = [(table, "o", "fitted")] + (
        [(held_out, "x", "held out")] if held_out is not None else []
    )
    if "tokens" in law.inputs:
        x = _inputs(table, fit)
        group = _groups(x["params"])
        for g in np.unique(group):
            mask = group == g
            n = float(np.exp(np.mean(np.log(x["params"][mask]))))
            d = x["tokens"][mask]
            grid = np.geomspace(d.min() / 1.5, d.max() * 1.5, 64)
            curve_in = {"params": np.full_like(grid, n), "tokens": grid}
            label = f"N ≈ {n:.3g}"
            if "teacher_loss" in x:
                lt = float(np.median(x["teacher_loss"][mask]))
                curve_in["teacher_loss"] = np.full_like(grid, lt)
                label += f", L_T {lt:.3g}"
            ax.plot(grid, _predict(fit, curve_in), color=f"C{g % 10}", linewidth=1.2)
            ax.scatter(d, table.column(law.output)[mask], color=f"C{g % 10}", s=14, label=label)
        if held_out is not None:
            h = _inputs(held_out, fit)
            ax.scatter(h["tokens"], held_out.column(law.output), marker="x", color="0.2",
                       label="held out")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("tokens D")
    else:
        x = _inputs(table, fit)
        first = law.inputs[0]
        grid = np.linspace(x[first].min() * 0.95, x[first].max() * 1.05, 128)
        ax.plot(grid, _predict(fit, {first: grid}), color="C0", linewidth=1.2, label="fit")
        ax.scatter(x[first], table.column(law.output), color="C0", s=14, label="runs")
        if held_out is not None:
            ax.scatter(held_out.column(first), held_out.column(law.output), marker="x",
                       color="0.2", label="held out")  # fmt: skip
        ax.set_xlabel(f"{first} (nats per token)" if first == "loss" else first)
    ax.set_ylabel(out_label)
    ax.legend(frameon=False, fontsize=7)
    for runs, marker, label in sets:
        assert runs is not None
        pred = _predict(fit, _inputs(runs, fit))
        obs = runs.column(law.output)
        res = 100.0 * (pred - obs) / obs
        rx.scatter(pred, res, marker=marker, s=14, color="C0" if marker == "o" else "0.2",
                   label=f"{label}: mean |err| {np.mean(np.abs(res)):.2f}%")  # fmt: skip
    rx.axhline(0.0, color="0.5", linewidth=0.8)
    rx.set_xlabel(f"predicted {out_label}")
    rx.set_ylabel("relative residual (predicted - observed), %")
    rx.legend(frameon=False, fontsize=7)
    runs_text = f", {fit.n_points} runs" if fit.n_points else ""
    fig.suptitle(f"{law.name}: {law.form} ({fit.estimator}{runs_text})", fontsize=9)
    try:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=target.suffix.lower().lstrip("."))
    except OSError as exc:
        raise InputError(
            f": cannot write ({exc.strerror or exc})", subject=_subject(target, str(target))
        ) from None
    return target


def fitted_tables(
    data: DataSource,
    fit: Fit,
    *,
    where: str | None = None,
    train_where: str | None = None,
    test_where: str | None = None,
    columns: Mapping[str, str] | None = None,
    drop_invalid: bool = False,
    loss_unit: str = "nats",
    bytes_per_token: float | None = None,
) -> tuple[RunTable, RunTable | None]:
    """The runs a fit was made on, and its held-out runs, read as :func:`~distillscale.fit` did.

    Arguments are those given to :func:`distillscale.fit` (with a ``kind`` column, the
    distillation law's runs are the ``student`` rows).
    """
    law = fit.law_obj
    base = where
    if "supervised_loss" in law.derived_inputs and _has_kind(data, columns):
        base = _and(where, "kind == 'student'")
    units = (loss_unit, bytes_per_token)
    train = _read(data, law, _and(base, train_where), columns, drop_invalid, *units)
    test = None
    if test_where is not None:
        test = _read(data, law, _and(base, test_where), columns, drop_invalid, *units)
    return train, test
