"""``distillscale fit``: fit a scaling law to a run table and write the fit artifact.

Parses options, calls :func:`distillscale.fitting.fit` and renders: a parameter table with
intervals and the diagnostics' warnings on stderr; ``--json`` writes the ``distillscale.fit/1``
document to stdout and nothing else there.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from distillscale.cli.app import app, check_output_file, emit_json, err_console
from distillscale.cli.errors import cli_warning
from distillscale.errors import InputError
from distillscale.laws import LAWS

if TYPE_CHECKING:
    from distillscale.fitting import Fit

LawName = StrEnum("LawName", {name: name for name in LAWS})  # type: ignore[misc]


class EstimatorName(StrEnum):
    """Estimators accepted by ``--estimator``."""

    huber_grid = "huber-grid"
    huber_mle = "huber-mle"
    least_squares = "least-squares"


def _pairs(items: list[str] | None, flag: str, example: str) -> dict[str, str]:
    """``["a=b", ...]`` -> ``{"a": "b"}``; a malformed item names the flag and the fix."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{flag} {item!r}: expected NAME=VALUE, e.g. {flag} {example}")
        out[key.strip()] = value.strip()
    return out


def render_fit(fit: Fit) -> None:
    """Parameter table (value, interval, notes) and diagnostics on stderr."""
    law = fit.law_obj
    level = "" if fit.ci_level is None else f" {round(100 * fit.ci_level, 1):g}%"
    title = f"{law.name}: {law.form} ({fit.estimator}"
    if fit.n_points is not None:
        title += f", {fit.n_points} runs"
    title += ")"
    table = Table(title=title, title_justify="left")
    table.add_column("param", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column(f"interval{level}", justify="right")
    table.add_column("note")
    for name in law.param_names:
        ci = "-"
        if fit.ci is not None and name in fit.ci:
            lo, hi = fit.ci[name]
            ci = f"[{lo:.5g}, {hi:.5g}]"
        notes = [
            label
            for label, on in (
                ("fixed", bool(fit.fixed) and name in (fit.fixed or {})),
                (f"tied to {(fit.ties or {}).get(name)}", name in (fit.ties or {})),
                (
                    "bounded {:g}..{:g}".format(*(fit.bounds or {}).get(name, (0, 0))),
                    name in (fit.bounds or {}),
                ),
                ("at bound", name in fit.diagnostics.at_bound),
                ("poorly determined", name in fit.diagnostics.poorly_determined),
            )
            if on
        ]
        table.add_row(name, f"{fit.params[name]:.6g}", ci, ", ".join(notes))
    err_console.print(table)
    if fit.objective is not None:
        err_console.print(f"objective {fit.objective:.10g} (summed Huber, delta {fit.delta:g})")
    if fit.scale is not None:
        err_console.print(f"fitted scale s {fit.scale:.4g} (log-residual units)")
    if fit.holdout:
        errs = [abs(h.rel_error) for h in fit.holdout]
        err_console.print(
            f"held out: {len(errs)} runs, mean |rel error| {sum(errs) / len(errs):.3%}, "
            f"max {max(errs):.3%}"
        )
        from distillscale.fitting.result import holdout_coverage

        cover = holdout_coverage(fit.holdout, fit.ci_level)
        if cover:
            err_console.print(f"held out: {cover}")
    for warning in fit.diagnostics.warnings:
        err_console.print(
            f"[yellow]warning:[/] {escape(cli_warning(warning))}", highlight=False, soft_wrap=True
        )
    if fit.supervised is not None:
        err_console.print("supervised fit (gives Ltilde_S):")
        render_fit(fit.supervised)


@app.command("fit")
def fit_command(
    data: Annotated[Path, typer.Argument(help="Run table: CSV, TSV, Parquet or JSON Lines.")],
    law: Annotated[LawName, typer.Option("--law", help="Scaling law to fit.")],
    estimator: Annotated[
        EstimatorName,
        typer.Option(
            help="huber-grid (start grid), huber-mle (fitted scale) or least-squares "
            "(raw residuals, start grid)."
        ),
    ] = EstimatorName.huber_grid,
    delta: Annotated[
        float | None,
        typer.Option(help="Huber threshold on log residuals (default: the law's, 1e-3 or 1e-4)."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples K for percentile intervals (0: none).")
    ] = 0,
    ci: Annotated[float, typer.Option(help="Interval coverage, e.g. 0.9 = 5th-95th pct.")] = 0.9,
    seed: Annotated[int | None, typer.Option(help="Bootstrap seed.")] = None,
    where: Annotated[
        str | None, typer.Option(help="Row filter selecting runs, e.g. 'outlier == 0'.")
    ] = None,
    train_where: Annotated[
        str | None, typer.Option(help="Fit on these runs (row filter); needs --test-where.")
    ] = None,
    test_where: Annotated[
        str | None, typer.Option(help="Report held-out errors on these runs (row filter).")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Canonical=your column, e.g. --map params=n_params."),
    ] = None,
    fix: Annotated[
        list[str] | None,
        typer.Option(help="Hold a parameter: NAME=VALUE or NAME=@set, e.g. --fix c1=522.6."),
    ] = None,
    bound: Annotated[
        list[str] | None,
        typer.Option(help="Bound a parameter: NAME=LO:HI, natural units, e.g. --bound E=0.5:3."),
    ] = None,
    tie: Annotated[
        list[str] | None,
        typer.Option(help="Tie a parameter to another: --tie alpha=beta (one shared value)."),
    ] = None,
    supervised: Annotated[
        str | None,
        typer.Option(help="Supervised fit for the distillation law: FIT.json or @name."),
    ] = None,
    drop_invalid: Annotated[
        bool, typer.Option(help="Drop invalid rows with a warning instead of failing.")
    ] = False,
    loss_unit: Annotated[
        str,
        typer.Option(help="Unit of the table's losses: nats, bits (x ln 2) or bpb; fits in nats."),
    ] = "nats",
    bytes_per_token: Annotated[
        float | None, typer.Option(help="Bytes per token, for --loss-unit bpb.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Write fitted curves vs data and residuals (.png, .svg or .pdf)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the fit artifact (JSON) here.")
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the fit artifact on stdout.")
    ] = False,
) -> None:
    """Fit a scaling law to a table of runs (params, tokens: counts; loss: nats per token)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from distillscale.fitting import fit as fit_api
    from distillscale.fitting.constraints import parse_bound

    if output is not None:  # refuse before the fit, not after it
        check_output_file(output, "-o", "fit.json")
    if plot is not None:  # refuse a bad path or a missing matplotlib before the fit
        from distillscale.fitting.plot import check_plot_target

        check_plot_target(plot, "distillscale fit --plot")
    columns = _pairs(map_, "--map", "params=n_params")
    fixed = _pairs(fix, "--fix", "c1=522.6")
    bounds = dict(parse_bound(item) for item in bound or [])
    ties = _pairs(tie, "--tie", "alpha=beta")
    interactive = bootstrap > 0 and err_console.is_terminal and not json_
    progress = Progress(
        "bootstrap",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not interactive,
    )
    with progress:
        task = progress.add_task("resamples", total=max(1, bootstrap))

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = fit_api(
            data,
            law.value,
            estimator=estimator.value,
            delta=delta,
            bootstrap=bootstrap,
            ci=ci,
            seed=seed,
            where=where,
            train_where=train_where,
            test_where=test_where,
            columns=columns or None,
            fixed=fixed or None,
            bounds=bounds or None,
            ties=ties or None,
            supervised=supervised,
            drop_invalid=drop_invalid,
            progress=advance,
            loss_unit=loss_unit,
            bytes_per_token=bytes_per_token,
        )
    if output is not None:
        try:
            result.save(output)
        except OSError as exc:  # e.g. a read-only folder: nothing half-written is left behind
            raise InputError(
                f"-o {output}: cannot write the fit artifact ({exc.strerror or exc}); choose a "
                "writable path"
            ) from None
        err_console.print(f"wrote {output}")
    if plot is not None:
        from distillscale.fitting.plot import fitted_tables, plot_fit

        train, test = fitted_tables(
            data,
            result,
            where=where,
            train_where=train_where,
            test_where=test_where,
            columns=columns or None,
            drop_invalid=drop_invalid,
            loss_unit=loss_unit,
            bytes_per_token=bytes_per_token,
        )
        err_console.print(f"wrote {plot_fit(plot, result, train, test)}")
    render_fit(result)
    if json_:
        emit_json(result.to_json())
