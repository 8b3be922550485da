"""``distillscale report DIR``: (re)build a study's self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distillscale.cli.app import app, err_console


@app.command("report")
def report(
    study_dir: Annotated[
        Path,
        typer.Argument(
            help="Study directory written by 'distillscale run STUDY.yaml --out DIR'.",
            metavar="DIR",
            show_default=False,
        ),
    ],
    open_path: Annotated[
        bool,
        typer.Option(
            "--open-path",
            help="Print only the absolute path of index.html on stdout (for a browser or a "
            'script: xdg-open "$(distillscale report DIR --open-path)").',
        ),
    ] = False,
) -> None:
    """Rebuild DIR/report/index.html and its PNG/SVG figures from the study's files.

    Reads runs.csv, curves.csv, ledger.json, fits/*.json, plan.json and study.yaml; any may
    be missing, and the report says which. Figures are inlined, so index.html needs no network.
    """
    from distillscale.report import build_report  # matplotlib loads only for this command

    index = build_report(study_dir)
    if open_path:
        typer.echo(str(index.resolve()))
        return
    figures = sorted(p.stem for p in index.parent.glob("*.png"))
    err_console.print(
        f"report written: {index} ({len(figures)} figures: {', '.join(figures) or 'none'})",
        highlight=False,
        soft_wrap=True,
    )
