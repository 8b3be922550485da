"""``distillscale predict``: evaluate a fit (or a published set) at given points.

``--json`` prints docs/conventions.md's ``predict --json`` document: ``law``, ``fit`` and one
``predictions`` entry per point with ``params``, ``tokens``, ``teacher_loss``, ``loss``, the
bootstrap ``interval`` of the fitted curve (confidence interval, parameter uncertainty only) and
the ``prediction_interval`` for a new run's observed loss (bootstrap plus the fit's residual
scatter); both null when the fit has no bootstrap samples. For the downstream law, which maps a
loss to an error, each entry is ``loss``, ``error``, ``interval`` and ``prediction_interval``
(of the error). A top-level ``warnings`` list holds the range warnings of
:mod:`distillscale.fitting.extrapolation` (also printed on stderr); a predicted loss above 100
nats per token is refused with exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from distillscale.cli.app import app, emit_json, err_console
from distillscale.errors import InputError


def _points(
    fit_law: Any,
    params: list[float] | None,
    tokens: list[float] | None,
    teacher_loss: list[float] | None,
    loss: list[float] | None,
    points: Path | None,
) -> dict[str, np.ndarray]:
    """Inputs by canonical name, broadcast to one flat array each."""
    inputs = fit_law.inputs
    given = {"params": params, "tokens": tokens, "teacher_loss": teacher_loss, "loss": loss}
    if points is not None:
        if any(given.values()):
            raise InputError(
                "give points either as --points FILE or as --params/--tokens/--loss, not both"
            )
        from distillscale.table import read_runs

        table = read_runs(points, required=inputs)
        return {k: table.column(k) for k in inputs}
    unused = [k for k, v in given.items() if v and k not in inputs]
    if unused:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in unused)
        raise InputError(
            f"law {fit_law.name!r} predicts from {', '.join(inputs)}; {flags} has no meaning for it"
        )
    missing = [k for k in inputs if not given.get(k)]
    if missing:
        flags = " ".join(f"--{k.replace('_', '-')} VALUE" for k in missing)
        raise InputError(
            f"law {fit_law.name!r} predicts from {', '.join(inputs)}: give {flags} "
            "(repeat a flag for several points) or --points FILE"
        )
    try:
        arrays = np.broadcast_arrays(*[np.asarray(given[k], dtype=float) for k in inputs])
    except ValueError:
        raise InputError(
            "repeated --params/--tokens/--teacher-loss/--loss must come in equal numbers "
            "(or one each)"
        ) from None
    return {k: a.ravel() for k, a in zip(inputs, arrays, strict=True)}


@app.command("predict")
def predict_command(
    fit: Annotated[str, typer.Argument(help="FIT.json from `distillscale fit -o`, or @name.")],
    params: Annotated[
        list[float] | None, typer.Option(help="Model parameters N (count); repeatable.")
    ] = None,
    tokens: Annotated[
        list[float] | None, typer.Option(help="Training tokens D (count); repeatable.")
    ] = None,
    teacher_loss: Annotated[
        list[float] | None,
        typer.Option(help="Teacher loss L_T, nats per token (distillation); repeatable."),
    ] = None,
    loss: Annotated[
        list[float] | None,
        typer.Option(help="Validation loss L, nats per token (downstream law); repeatable."),
    ] = None,
    points: Annotated[
        Path | None,
        typer.Option(help="Table of points (CSV/TSV/Parquet/JSONL) with the law's inputs."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print predictions as JSON.")] = False,
) -> None:
    """Predict loss (nats per token) from a fit at given sizes and token counts.

    For a downstream fit, predict the error (fraction) at given losses (--loss).
    """
    from distillscale.fitting import load_fit
    from distillscale.fitting.extrapolation import check_absurd, range_warnings

    fitted = load_fit(fit)
    law = fitted.law_obj
    x = _points(law, params, tokens, teacher_loss, loss, points)
    n, d, l_t, l_v = (x.get(k) for k in ("params", "tokens", "teacher_loss", "loss"))
    interval = None
    p_interval = None
    if fitted.bootstrap_samples is not None:
        pred = fitted.predict(params=n, tokens=d, teacher_loss=l_t, loss=l_v, interval=True)
        value, interval = pred.value, (pred.lower, pred.upper)
        if pred.prediction_lower is not None and pred.prediction_upper is not None:
            p_interval = (pred.prediction_lower, pred.prediction_upper)
    else:
        value = fitted.predict(params=n, tokens=d, teacher_loss=l_t, loss=l_v)
    check_absurd(
        value, law.output, fitted.source or fit, points=str(points) if points is not None else None
    )
    flags = {k: "--" + k.replace("_", "-") for k in ("params", "tokens", "teacher_loss", "loss")}
    warnings = range_warnings(fitted.data_range, x, fitted.source or fit, flags)
    shown = [k for k in ("params", "tokens", "teacher_loss", "loss") if k in x]
    table = Table(title=f"{law.name} ({fitted.source or fit})", title_justify="left")
    for col in (*shown, law.output):
        table.add_column(col, justify="right")
    pct = f"{round(100 * (fitted.ci_level or 0.9), 1):g}%"
    if interval is not None:
        table.add_column(f"{pct} curve interval", justify="right")
    if p_interval is not None:
        table.add_column(f"{pct} new-run interval", justify="right")
    rows: list[dict[str, Any]] = []
    has_teacher = "teacher_loss" in x
    for i in range(value.shape[0]):
        band = None if interval is None else [float(interval[0][i]), float(interval[1][i])]
        if law.output == "loss":
            row = {
                "params": float(x["params"][i]),
                "tokens": float(x["tokens"][i]),
                "teacher_loss": float(x["teacher_loss"][i]) if has_teacher else None,
                "loss": float(value[i]),
            }
        else:
            row = {**{k: float(x[k][i]) for k in shown}, law.output: float(value[i])}
        p_band = None if p_interval is None else [float(p_interval[0][i]), float(p_interval[1][i])]
        rows.append({**row, "interval": band, "prediction_interval": p_band})
        cells = [f"{x[k][i]:.4g}" for k in shown] + [f"{value[i]:.5f}"]
        for b in (band, p_band):
            if b is not None:
                cells.append(f"[{b[0]:.5f}, {b[1]:.5f}]")
        table.add_row(*cells)
    err_console.print(table)
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if json_:
        emit_json({"law": law.name, "fit": fit, "predictions": rows, "warnings": warnings})
