"""``distillscale runs list|export``: look into a run store and export its run table."""

from __future__ import annotations

import json
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
    help="List the runs of a run store, export its run table, or import runs logged elsewhere.",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store path or URL (sqlite:///file, postgresql+psycopg://user:pw@host/db) "
        "(default: $DISTILLSCALE_STORE, else ./distillscale.sqlite).",
        show_default=False,
    ),
]
StudyOption = Annotated[
    str | None,
    typer.Option("--study", help="Only this study's runs (those of its current spec)."),
]
StaleOption = Annotated[
    bool,
    typer.Option(
        "--stale",
        help="With --study: also the study's runs that its current spec no longer has "
        "(an edited spec or corpus, or ids of distillscale 0.1.0), marked stale.",
    ),
]


class Format(StrEnum):
    """Export formats."""

    csv = "csv"
    parquet = "parquet"


class ImportFormat(StrEnum):
    """Source formats of ``runs import`` (``distillscale.runs_import.FORMATS``)."""

    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    wandb = "wandb"
    mlflow = "mlflow"
    tensorboard = "tensorboard"


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
    stale: StaleOption = False,
) -> None:
    """List stored runs: id, study, kind, status, size, tokens, FLOPs and loss."""
    if stale and study is None:
        raise InputError("--stale: give --study too (staleness is relative to a study's spec)")
    with _open(store) as opened:
        records = opened.list_runs(study=study, status=status, stale=stale)
        members = opened.study_runs(study) if study is not None else None
        url = opened.url
    old = {r.run_id for r in records if members is not None and r.run_id not in members}
    if json_out:
        runs = []
        for record in records:
            row = asdict(record)
            row["config"] = json.loads(record.config)
            row["stale"] = record.run_id in old
            runs.append(row)
        emit_json({"store": url, "runs": runs})
        return
    table = Table(title=f"runs in {url}")
    table.add_column("run", no_wrap=True)  # run ids are copied into commands: never cut
    columns = ["study", "kind", "status", "params", "tokens", "flops", "loss", "try"]
    for column in columns + (["stale"] if stale else []):
        left = column in ("study", "kind")
        table.add_column(column, justify="left" if left else "right", overflow="fold")
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
            *(["stale" if r.run_id in old else ""] if stale else []),
        )
    err_console.print(table)
    counts: dict[str, int] = {}
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no runs"
    if old:
        summary += f" ({len(old)} stale)"
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
            "--format", help="csv or parquet (default: from the file suffix).", show_default=False
        ),
    ] = None,
    status: Annotated[
        str,
        typer.Option(help="Only runs in this state (pending, running, done, failed) or 'all'."),
    ] = "done",
    stale: StaleOption = False,
) -> None:
    """Write the run table (run, params, tokens, flops, loss, teacher_loss, ...) to a file.

    Columns follow docs/conventions.md, so the file feeds 'distillscale fit' directly.
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
    if stale and study is None:
        raise InputError("--stale: give --study too (staleness is relative to a study's spec)")
    with _open(store) as opened:
        table = opened.run_table(study, status=None if status == "all" else status, stale=stale)
    from distillscale.atomic import atomic_path

    with atomic_path(output) as tmp:
        if fmt is Format.csv:
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    err_console.print(f"wrote {len(table)} runs to {output}", highlight=False, soft_wrap=True)


@runs_app.command("import")
def import_cmd(
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="CSV/TSV/JSONL tables, W&B JSON exports, mlruns folders, TensorBoard log "
            "folders or event files.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Run table to write: .csv, .tsv or .jsonl (atomic)."),
    ],
    fmt: Annotated[
        ImportFormat | None,
        typer.Option(
            "--format",
            help="Source format (default: detected from each source).",
            show_default=False,
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Canonical=source key, e.g. --map params=n_embd_params."),
    ] = None,
    require: Annotated[
        str,
        typer.Option(help="Columns every row needs (comma-separated), or 'none'."),
    ] = "params,tokens,loss",
    last_per: Annotated[
        str | None,
        typer.Option(help="Keep the last logged step per group, e.g. --last-per run."),
    ] = None,
    best_per: Annotated[
        str | None,
        typer.Option(help="Keep the best row per group, e.g. --best-per params,tokens."),
    ] = None,
    by: Annotated[
        str, typer.Option(help="Column --best-per minimises (e.g. loss, error).")
    ] = "loss",
    loss_unit: Annotated[
        str, typer.Option(help="Unit of the sources' losses: nats, bits or bpb.")
    ] = "nats",
    bytes_per_token: Annotated[
        float | None, typer.Option(help="Bytes per token, for --loss-unit bpb.")
    ] = None,
    drop_invalid: Annotated[
        bool, typer.Option(help="Drop invalid rows with a warning instead of failing.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary on stdout.")
    ] = False,
) -> None:
    """Import runs logged elsewhere into a run table that 'distillscale fit' reads.

    Columns are matched by common names (n_params, model_size -> params; tokens_seen ->
    tokens; val_loss, eval_loss -> loss; ...) or --map; losses are written in nats per token.
    See docs/importing.md for the formats.
    """
    from distillscale.columns import parse_column_map
    from distillscale.runs_import import import_runs

    result = import_runs(
        sources,
        fmt=None if fmt is None else fmt.value,
        columns=parse_column_map(map_ or []),
        required=None if require.strip().lower() == "none" else require,
        loss_unit=loss_unit,
        bytes_per_token=bytes_per_token,
        last=last_per,
        best=best_per,
        by=by,
        drop_invalid=drop_invalid,
    )
    written = result.write(output)
    if result.dropped:
        err_console.print(
            f"[yellow]warning:[/] dropped {result.dropped} invalid rows",
            highlight=False,
            soft_wrap=True,
        )
    note = (
        f"; skipped {result.skipped_steps} logged steps without {require}"
        if result.skipped_steps
        else ""
    )
    err_console.print(
        f"read {result.read} rows from {', '.join(result.sources)}{note}; wrote "
        f"{len(result)} rows ({', '.join(result.columns[:8])}"
        f"{', ...' if len(result.columns) > 8 else ''}) to {written}",
        highlight=False,
        soft_wrap=True,
    )
    if json_out:
        emit_json(
            {
                "output": str(written),
                "sources": list(result.sources),
                "read": result.read,
                "rows": len(result),
                "skipped_steps": result.skipped_steps,
                "dropped": result.dropped,
                "columns": list(result.columns),
            }
        )
