"""``distillscale runs list|export``: look into a run store and export its run table."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from distillscale.cli.app import app, check_output_file, emit_json, err_console
from distillscale.errors import InputError, require

if TYPE_CHECKING:
    from distillscale.study.store import Store

runs_app = typer.Typer(
    help="List the runs of a run store, or export its run table (CSV or Parquet).",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store path or URL (sqlite:///file, postgresql+psycopg://user:pw@host/db) "
        "[default: $DISTILLSCALE_STORE, else ./distillscale.sqlite].",
        show_default=False,
    ),
]
StudyOption = Annotated[str | None, typer.Option("--study", help="Only this study's runs.")]


class Format(StrEnum):
    """Export formats."""

    csv = "csv"
    parquet = "parquet"


def _open(store: str | None) -> Store:
    from distillscale.study.store import default_store_url, open_store

    return open_store(store or default_store_url(), create=False)


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@runs_app.command("list")
def list_runs(
    store: StoreOption = None,
    study: StudyOption = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only runs in this state: pending, running, done or failed."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """List stored runs: id, study, kind, status, size, tokens, FLOPs and loss."""
    with _open(store) as opened:
        records = opened.list_runs(study=study, status=status)
        url = opened.url
    if json_out:
        runs = []
        for record in records:
            row = asdict(record)
            row["config"] = json.loads(record.config)
            runs.append(row)
        emit_json({"store": url, "runs": runs})
        return
    table = Table(title=f"runs in {url}")
    for column in ("run", "study", "kind", "status", "params", "tokens", "flops", "loss", "try"):
        table.add_column(column, justify="left" if column in ("run", "study", "kind") else "right")
    for r in records:
        table.add_row(
            r.run_id,
            r.study or "-",
            r.kind,
            r.status,
            _fmt(r.params, ".4g"),
            _fmt(r.tokens, ".4g"),
            _fmt(r.flops_total, ".4g"),
            _fmt(r.loss, ".4f"),
            str(r.attempts),
        )
    err_console.print(table)
    counts: dict[str, int] = {}
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no runs"
    err_console.print(summary, highlight=False)


@runs_app.command("export")
def export(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write (replaced atomically).")
    ],
    store: StoreOption = None,
    study: StudyOption = None,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format", help="csv or parquet [default: from the file suffix].", show_default=False
        ),
    ] = None,
    status: Annotated[
        str,
        typer.Option(help="Only runs in this state (pending, running, done, failed) or 'all'."),
    ] = "done",
) -> None:
    """Write the run table (run, params, tokens, flops, loss, teacher_loss, ...) to a file.

    Columns follow CONVENTIONS.md, so the file feeds 'distillscale fit' directly.
    """
    check_output_file(output, "-o", "runs.csv")
    if fmt is None:
        suffix = output.suffix.lower().lstrip(".")
        if suffix not in ("csv", "parquet"):
            raise InputError(
                f"-o {output}: cannot tell the format from the suffix {output.suffix!r}; "
                "pass --format csv or --format parquet"
            )
        fmt = Format(suffix)
    if fmt is Format.parquet:
        require("pyarrow", "parquet", "distillscale runs export --format parquet")
    if status not in ("all", "pending", "running", "done", "failed"):
        raise InputError(f"--status {status!r}: use pending, running, done, failed or all")
    with _open(store) as opened:
        table = opened.run_table(study, status=None if status == "all" else status)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(fd)
    try:
        if fmt is Format.csv:
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    err_console.print(f"wrote {len(table)} runs to {output}", highlight=False, soft_wrap=True)
