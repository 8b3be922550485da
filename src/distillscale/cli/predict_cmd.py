"""``distillscale predict``: evaluate a fit (or a published set) at given points.

``--json`` prints CONVENTIONS.md's ``predict --json`` document: ``law``, ``fit`` and one
``predictions`` entry per point with ``params``, ``tokens``, ``teacher_loss``, ``loss`` and the
bootstrap ``interval`` (null when the fit has no bootstrap samples).
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
    points: Path | None,
) -> dict[str, np.ndarray]:
    """Inputs by canonical name, broadcast to one flat array each."""
    inputs = fit_law.inputs
    if points is not None:
        if params or tokens or teacher_loss:
            raise InputError(
                "give points either as --points FILE or as --params/--tokens, not both"
            )
        from distillscale.table import read_runs

        table = read_runs(points, required=inputs)
        return {k: table.column(k) for k in inputs}
    given = {"params": params, "tokens": tokens, "teacher_loss": teacher_loss}
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
            "repeated --params/--tokens/--teacher-loss must come in equal numbers (or one each)"
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
    points: Annotated[
        Path | None,
        typer.Option(help="Table of points (CSV/TSV/Parquet/JSONL) with the law's inputs."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print predictions as JSON.")] = False,
) -> None:
    """Predict loss (nats per token) from a fit at given sizes and token counts."""
    from distillscale.fitting import load_fit

    fitted = load_fit(fit)
    law = fitted.law_obj
    if law.output != "loss":
        raise InputError(
            f"{fit}: law {law.name!r} predicts {law.output} from {', '.join(law.inputs)}; "
            "`distillscale predict` takes loss laws (use the Python API for this one)"
        )
    x = _points(law, params, tokens, teacher_loss, points)
    n_s, d_s, l_t = x.get("params"), x.get("tokens"), x.get("teacher_loss")
    interval = None
    if fitted.bootstrap_samples is not None:
        pred = fitted.predict(params=n_s, tokens=d_s, teacher_loss=l_t, interval=True)
        value, interval = pred.value, (pred.lower, pred.upper)
    else:
        value = fitted.predict(params=n_s, tokens=d_s, teacher_loss=l_t)
    has_teacher = "teacher_loss" in x
    table = Table(title=f"{law.name} ({fitted.source or fit})", title_justify="left")
    for col in ("params", "tokens", *(["teacher_loss"] if has_teacher else []), "loss"):
        table.add_column(col, justify="right")
    if interval is not None:
        table.add_column(f"{round(100 * (fitted.ci_level or 0.9), 1):g}% interval", justify="right")
    rows: list[dict[str, Any]] = []
    for i in range(value.shape[0]):
        band = None if interval is None else [float(interval[0][i]), float(interval[1][i])]
        rows.append(
            {
                "params": float(x["params"][i]),
                "tokens": float(x["tokens"][i]),
                "teacher_loss": float(x["teacher_loss"][i]) if has_teacher else None,
                "loss": float(value[i]),
                "interval": band,
            }
        )
        cells = [f"{x['params'][i]:.4g}", f"{x['tokens'][i]:.4g}"]
        if has_teacher:
            cells.append(f"{x['teacher_loss'][i]:.4g}")
        cells.append(f"{value[i]:.5f}")
        if band is not None:
            cells.append(f"[{band[0]:.5f}, {band[1]:.5f}]")
        table.add_row(*cells)
    err_console.print(table)
    if json_:
        emit_json({"law": law.name, "fit": fit, "predictions": rows})
