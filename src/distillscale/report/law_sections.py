"""Report sections about the fitted laws: supervised, distillation, residuals, held-out check.

Curves and residuals come from ``Fit.predict``; the held-out table is the fit artifact's own
``holdout`` list. Losses are nats per token, sizes non-embedding parameters, compute FLOPs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from distillscale.errors import InputError
from distillscale.fitting.result import Fit
from distillscale.report import plots
from distillscale.report.fitted import has_bands, predict
from distillscale.report.html import (
    Cell,
    Section,
    esc,
    figure_html,
    fmt_count,
    fmt_loss,
    fmt_pct,
    paragraph,
    table,
)
from distillscale.report.load import StudyData, student_runs, supervised_runs

__all__ = [
    "distillation_section",
    "holdout_frame",
    "holdout_section",
    "residuals_section",
    "supervised_section",
]

_GRID = 60


def _missing(text: str) -> str:
    return paragraph(text, "missing")


def _no_fit(data: StudyData, name: str) -> str:
    """Why a law section shows data only: the fit file is missing, or could not be loaded."""
    state = "could not be loaded (see the summary)" if name in data.fit_docs else "is missing"
    return _missing(f"fits/{name}.json {state}: data only, no fitted curves.")


def supervised_section(
    data: StudyData, fit: Fit | None, figures: dict[str, plots.Rendered]
) -> Section:
    """Supervised runs (teachers, baselines) with the fitted supervised law per model size."""
    title = "Supervised law: loss vs data and compute"
    runs = supervised_runs(data.runs) if data.runs is not None else None
    if runs is None or runs.empty:
        why = (
            "runs.csv is missing or unreadable"
            if runs is None
            else "no finished teacher or baseline runs"
        )
        return Section(anchor="supervised", title=title, body=_missing(f"No data: {why}."))
    sizes = sorted(runs["params"].unique())
    held = _held_out(data, "supervised")
    by_tokens, by_flops, curves_d, curves_c = [], [], [], []
    rows: list[list[Cell]] = []
    d_grid = np.geomspace(runs["tokens"].min() / 2, runs["tokens"].max() * 2, _GRID)
    for n in sizes:
        group = runs[runs["params"] == n].sort_values("tokens")
        label = f"N = {fmt_count(n)}"
        by_tokens.append(_points(label, n, group["tokens"], group["loss"], group["run"], held))
        with_c = group[group["flops"].notna() & (group["flops"] > 0)]
        by_flops.append(_points(label, n, with_c["flops"], with_c["loss"], with_c["run"], held))
        rows.append(
            [
                fmt_count(n),
                len(group),
                fmt_count(group["tokens"].min()),
                fmt_count(group["tokens"].max()),
                fmt_loss(group["loss"].min()),
            ]
        )
        if fit is None:
            continue
        pred = predict(fit, params=n, tokens=d_grid, interval=has_bands(fit))
        curves_d.append(
            plots.Band(label=label, value=n, x=d_grid, y=pred.loss, lo=pred.lo, hi=pred.hi)
        )
        if not with_c.empty:
            per_token = float(np.median(with_c["flops"] / with_c["tokens"]))
            curves_c.append(
                plots.Band(
                    label=label, value=n, x=d_grid * per_token, y=pred.loss, lo=pred.lo, hi=pred.hi
                )
            )
    figures["supervised"] = plots.supervised_figure(by_tokens, by_flops, curves_d, curves_c)
    parts = []
    if fit is None:
        parts.append(_no_fit(data, "supervised"))
    else:
        band = "with bootstrap bands" if has_bands(fit) else "no bootstrap samples, so no bands"
        parts.append(
            paragraph(
                "Points: finished runs (hollow: held out of the fit). Lines: the fitted "
                f"{fit.law} law ({band});"
                " the compute curves use each size's observed FLOPs per token."
            )
        )
    parts.append(figure_html("supervised", figures["supervised"], "Supervised runs and fit"))
    parts.append(
        table(
            [
                "N (non-embedding params)",
                "runs",
                "min D (tokens)",
                "max D (tokens)",
                "best loss (nats/token)",
            ],
            rows,
        )
    )
    return Section(anchor="supervised", title=title, body="".join(parts))


def _points(
    label: str, value: float, x: Any, y: Any, runs: Any, held_out: frozenset[str]
) -> plots.SeriesPoints:
    return plots.SeriesPoints(
        label=label,
        value=float(value),
        x=np.asarray(x, dtype=float),
        y=np.asarray(y, dtype=float),
        held_out=np.array([str(r) in held_out for r in runs], dtype=bool),
    )


def _held_out(data: StudyData, name: str) -> frozenset[str]:
    """Run names in ``fits/<name>.json``'s ``holdout`` list."""
    entries = data.fit_docs.get(name, {}).get("holdout")
    if not isinstance(entries, list):
        return frozenset()
    return frozenset(str(e.get("run")) for e in entries if isinstance(e, dict))


def distillation_section(
    data: StudyData, fit: Fit | None, figures: dict[str, plots.Rendered]
) -> Section:
    """Student loss against teacher loss per student size, with the fitted law over L_T."""
    title = "Distillation law: student loss vs teacher loss (capacity gap)"
    runs = student_runs(data.runs) if data.runs is not None else None
    if runs is None or runs.empty:
        why = (
            "runs.csv is missing or unreadable"
            if runs is None
            else "no finished distilled students"
        )
        return Section(anchor="distillation", title=title, body=_missing(f"No data: {why}."))
    points, curves, rows, sup_lines = [], [], [], []
    lt = runs["teacher_loss"]
    held = _held_out(data, "distillation")
    lt_grid = np.linspace(lt.min() * 0.8, lt.max() * 1.08, 2 * _GRID)
    for k, ((n, d), group) in enumerate(runs.groupby(["params", "tokens"], sort=True)):
        group = group.sort_values("teacher_loss")
        label = f"N_S = {fmt_count(n)}, D_S = {fmt_count(d)}"
        points.append(_points(label, k, group["teacher_loss"], group["loss"], group["run"], held))
        best = group.loc[group["loss"].idxmin()]
        row: list[Cell] = [
            fmt_count(n),
            fmt_count(d),
            len(group),
            str(best["teacher_run"]),
            fmt_loss(best["teacher_loss"]),
            fmt_loss(best["loss"]),
        ]
        if fit is not None:
            band, fitted_cells, sup_loss = _student_curve(fit, n, d, k, lt_grid, label)
            curves.append(band)
            row += fitted_cells
            if sup_loss is not None:
                sup_lines.append((float(k), sup_loss))
        rows.append(row)
    figures["distillation"] = plots.distillation_figure(points, curves, sup_lines)
    headers = [
        "N_S (non-embedding params)",
        "D_S (tokens)",
        "students",
        "best teacher run",
        "its L_T (nats/token)",
        "student loss (nats/token)",
    ]
    parts = []
    if fit is None:
        parts.append(_no_fit(data, "distillation"))
    else:
        headers += ["fitted best L_T in range", "fitted L_S there", "supervised L (nats/token)"]
        parts.append(
            paragraph(
                "Points: distilled students (hollow: held out of the fit). Lines: the "
                "fitted distillation law "
                "over teacher loss at each student's N_S and D_S. Below the "
                "dashed line the student beats its teacher; below its dotted line it beats "
                "supervised training on the same data (the fit's supervised law)."
            )
        )
    parts.append(figure_html("distillation", figures["distillation"], "Capacity gap"))
    parts.append(table(headers, rows))
    return Section(anchor="distillation", title=title, body="".join(parts))


def _student_curve(
    fit: Fit, n: float, d: float, k: int, lt_grid: NDArray[np.float64], label: str
) -> tuple[plots.Band, list[Cell], float | None]:
    """The fitted law over ``lt_grid`` for student group ``k`` (size ``n``, tokens ``d``).

    Returns the curve, table cells (best L_T on the grid, L_S there, supervised loss) and the
    supervised loss at (n, d), nats per token.
    """
    pred = predict(fit, params=n, tokens=d, teacher_loss=lt_grid, interval=has_bands(fit))
    band = plots.Band(label=label, value=k, x=lt_grid, y=pred.loss, lo=pred.lo, hi=pred.hi)
    i = int(np.argmin(pred.loss))
    edge = " (range edge)" if i in (0, len(lt_grid) - 1) else ""
    sup = None
    if fit.supervised is not None:
        sup = float(predict(fit.supervised, params=n, tokens=d).loss)
    return band, [fmt_loss(lt_grid[i]) + edge, fmt_loss(pred.loss[i]), fmt_loss(sup)], sup


def _residual_rows(
    data: StudyData, fits: Mapping[str, Fit]
) -> tuple[list[tuple[str, pd.DataFrame]], list[str]]:
    """Runs with a ``predicted`` column per fit, and notes for fits that cannot predict them.

    A fit whose ``predict`` rejects its runs gets a note; the other fit's residuals still show.
    """
    out: list[tuple[str, pd.DataFrame]] = []
    notes: list[str] = []
    if data.runs is None:
        return out, notes
    selections = (("supervised", supervised_runs), ("distillation", student_runs))
    for name, select in selections:
        if name not in fits:
            continue
        frame = select(data.runs).copy()
        if frame.empty:
            continue
        inputs = {"params": frame["params"].to_numpy(), "tokens": frame["tokens"].to_numpy()}
        if name == "distillation":
            inputs["teacher_loss"] = frame["teacher_loss"].to_numpy()
        try:
            frame["predicted"] = predict(fits[name], **inputs).loss
        except (InputError, ValueError) as exc:
            notes.append(f"fits/{name}.json cannot predict its runs: {exc}")
            continue
        out.append((name, frame))
    return out, notes


def residuals_section(
    data: StudyData, fits: Mapping[str, Fit], figures: dict[str, plots.Rendered]
) -> Section:
    """Observed against predicted loss for every finished run, and relative residuals."""
    title = "Residuals"
    groups, notes = _residual_rows(data, fits)
    if not groups:
        why = "no fits" if not fits else "no finished runs to compare with the fits"
        body = "".join(_missing(n) for n in notes) or _missing(f"No residuals: {why}.")
        return Section(anchor="residuals", title=title, body=body)
    summary: list[list[Cell]] = []
    worst: list[list[Cell]] = []
    fig_groups = []
    for name, frame in groups:
        obs = frame["loss"].to_numpy(dtype=float)
        pred = frame["predicted"].to_numpy(dtype=float)
        rel = (pred - obs) / obs
        log_res = np.log(pred) - np.log(obs)
        summary.append(
            [
                name,
                len(frame),
                fmt_pct(float(np.mean(np.abs(rel)))),
                fmt_pct(float(np.max(np.abs(rel)))),
                f"{float(np.sqrt(np.mean(log_res**2))):.5f}",
            ]
        )
        order = np.argsort(-np.abs(rel))[:5]
        for i in order:
            row = frame.iloc[int(i)]
            worst.append(
                [
                    name,
                    str(row["run"]),
                    fmt_count(row["params"]),
                    fmt_count(row["tokens"]),
                    fmt_loss(obs[i]),
                    fmt_loss(pred[i]),
                    fmt_pct(rel[i]),
                ]
            )
        fig_groups.append((name, frame["params"].to_numpy(dtype=float), obs, pred))
    figures["residuals"] = plots.residuals_figure(fig_groups)
    body = "".join(
        [
            paragraph(
                "Relative residual = (predicted - observed) / observed, over the "
                "finished runs of each law (fitted and held-out runs alike)."
            ),
            *[_missing(n) for n in notes],
            figure_html("residuals", figures["residuals"], "Residuals of the fits"),
            table(
                ["fit", "runs", "mean |rel. residual|", "max |rel. residual|", "RMS log residual"],
                summary,
            ),
            "<h3>Largest residuals</h3>",
            table(
                [
                    "fit",
                    "run",
                    "N",
                    "D (tokens)",
                    "observed (nats/token)",
                    "predicted (nats/token)",
                    "rel. residual",
                ],
                worst,
            ),
        ]
    )
    return Section(anchor="residuals", title=title, body=body)


def holdout_frame(doc: Mapping[str, Any]) -> pd.DataFrame | None:
    """A fit artifact's held-out runs (losses nats/token; interval columns NaN when absent)."""
    entries = doc.get("holdout")
    if not isinstance(entries, list) or not entries:
        return None
    rows = []
    for e in entries:
        if not isinstance(e, dict):
            continue
        band = e.get("prediction_interval")
        lo, hi = band if isinstance(band, list | tuple) and len(band) == 2 else (None, None)
        inside = e.get("inside")
        rows.append({**e, "lower": lo, "upper": hi, "inside": inside})
    columns = ["run", "observed", "predicted", "rel_error", "lower", "upper", "inside"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("observed", "predicted", "rel_error", "lower", "upper"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def holdout_section(data: StudyData, figures: dict[str, plots.Rendered]) -> Section:
    """The fit artifacts' held-out runs: table and observed-vs-predicted plot."""
    title = "Held-out check"
    parts: list[str] = [
        paragraph(
            "Each law is fitted on the higher-loss runs and predicts the lowest-loss ones; "
            "rel. error = (predicted - observed) / observed; the prediction interval is the "
            "fit's band for a new run there (bootstrap plus residual scatter, at the fit's CI "
            "level) and 'inside' says whether the observed loss falls in it."
        )
    ]
    groups: list[tuple[str, NDArray[np.float64], NDArray[np.float64]]] = []
    sizes: dict[str, tuple[float, float]] = {}
    if data.runs is not None:
        for run, n, d in zip(
            data.runs["run"], data.runs["params"], data.runs["tokens"], strict=True
        ):
            sizes.setdefault(str(run), (float(n), float(d)))
    for name, doc in data.fit_docs.items():
        frame = holdout_frame(doc)
        if frame is None:
            parts.append(_missing(f"fits/{name}.json has no held-out runs."))
            continue
        rows: list[list[Cell]] = []
        for _, r in frame.iterrows():
            n, d = sizes.get(str(r["run"]), (None, None))
            rows.append(
                [
                    str(r["run"]),
                    fmt_count(n),
                    fmt_count(d),
                    fmt_loss(r["observed"]),
                    fmt_loss(r["predicted"]),
                    fmt_pct(r["rel_error"]),
                    f"{fmt_loss(r['lower'])} - {fmt_loss(r['upper'])}"
                    if math.isfinite(r["lower"]) and math.isfinite(r["upper"])
                    else "n/a (no bootstrap)",
                    {True: "yes", False: "NO"}.get(r["inside"], "n/a"),
                ]
            )
        mean_abs = float(np.nanmean(np.abs(frame["rel_error"].to_numpy(dtype=float))))
        parts.append(f"<h3>{esc(name)} law</h3>")
        parts.append(
            paragraph(
                f"{len(frame)} held-out runs; mean |rel. error| {fmt_pct(mean_abs).lstrip('+')}."
            )
        )
        parts.append(
            table(
                [
                    "run",
                    "N",
                    "D (tokens)",
                    "observed (nats/token)",
                    "predicted (nats/token)",
                    "rel. error",
                    "prediction interval (nats/token)",
                    "inside",
                ],
                rows,
            )
        )
        groups.append((name, frame["observed"].to_numpy(float), frame["predicted"].to_numpy(float)))
    if not data.fit_docs:
        return Section(anchor="holdout", title=title, body=_missing("No fits: fits/ is missing."))
    if groups:
        figures["holdout"] = plots.holdout_figure(groups)
        parts.insert(1, figure_html("holdout", figures["holdout"], "Held-out runs"))
    return Section(anchor="holdout", title=title, body="".join(parts))
