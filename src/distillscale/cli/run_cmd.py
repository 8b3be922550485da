"""``distillscale run STUDY.yaml``: run (or resume) a study, or show its plan with ``--dry-run``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from distillscale.cli.app import app, emit_json, err_console
from distillscale.errors import InputError


class ExecutorKind(StrEnum):
    """Executors."""

    local = "local"
    ray = "ray"


def _override(spec: Any, **values: Any) -> Any:
    """Apply command-line overrides to the spec's executor section, validated."""
    from distillscale.study.spec import parse_spec

    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return spec
    doc = spec.model_dump(mode="json")
    doc["executor"].update(given)
    return parse_spec(doc, source="command line")


@app.command("run")
def run(
    study: Annotated[Path, typer.Argument(help="Study spec (YAML); see docs/studies.md.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Study directory (default: studies/<spec name>)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show runs, FLOPs by phase and estimated wall time; train nothing."
        ),
    ] = False,
    executor: Annotated[
        ExecutorKind | None, typer.Option(help="Executor (default: the spec's, else local).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Runs at once (processes or Ray tasks).")
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="Torch threads per worker.")] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster: auto, local (start one here) or HOST:PORT."),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            help="Run store path or URL, in place of the spec's store: (default there: "
            "DIR/store.sqlite); keeps a password out of the spec file.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Run a study: teachers, logit caches, students and baselines, then fits and a plan.

    Rerunning the same command resumes: finished runs are skipped, interrupted ones continue
    from their last checkpoint.
    """
    from distillscale.study.graph import build_graph
    from distillscale.study.spec import load_spec

    spec = _override(
        load_spec(study),
        kind=executor.value if executor is not None else None,
        workers=workers,
        threads=threads,
        address=address,
    )
    if store is not None:
        if not store.strip():
            raise InputError("--store: empty; give a file path or a database URL")
        spec = spec.model_copy(update={"store": store})
    if dry_run:
        _dry_run(spec, build_graph(spec), json_out)
        return
    from distillscale.study.runner import run_study

    study_dir = out if out is not None else Path("studies") / spec.name
    result = run_study(spec, study_dir, console=err_console)
    if json_out:
        emit_json(
            {
                "study_dir": str(result.study_dir),
                "runs": result.runs,
                "done": result.done,
                "failed": result.failed,
                "trained": result.trained,
                "failures": result.failures,
                "flops": result.ledger.as_dict(),
                "planned_flops": result.planned.as_dict(),
                "wall_seconds": result.wall_seconds,
            }
        )


def _dry_run(spec: Any, graph: Any, json_out: bool) -> None:
    from distillscale.study.estimate import estimate_wall_time
    from distillscale.study.progress import format_flops, format_seconds

    if len(graph.runs) == 0:
        raise InputError("the spec expands to no runs; give teachers and students")
    est = estimate_wall_time(spec, graph)
    ledger = graph.ledger.as_dict()
    if json_out:
        emit_json(
            {
                "study": spec.name,
                "runs": [
                    {
                        "run": r.run_id,
                        "kind": r.kind,
                        "label": r.label,
                        "params": r.params,
                        "tokens": r.tokens,
                        "flops": r.ledger.total,
                        "teacher_run": r.teacher_run,
                    }
                    for r in graph.runs
                ],
                "caches": [
                    {"cache": c.cache_id, "teacher_run": c.teacher_run, "tokens": c.tokens}
                    for c in graph.caches
                ],
                "counts": {k: graph.count(k) for k in ("teacher", "student", "baseline")},
                "flops": ledger,
                "saved_by_branches": graph.saved.total,
                "throughput": {str(k): v for k, v in est.throughput.items()},
                "throughput_source": est.source,
                "workers": spec.executor.workers,
                "estimated_wall_seconds": est.seconds,
            }
        )
        return
    table = Table(title=f"study {spec.name}: {len(graph.runs)} runs, {len(graph.caches)} caches")
    for col in ("kind", "depth", "params (non-emb.)", "runs", "tokens", "FLOPs"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    groups: dict[tuple[str, int], list[Any]] = {}
    for r in graph.runs:
        groups.setdefault((r.kind, r.depth), []).append(r)
    for (kind, depth), runs in groups.items():
        tokens = sorted({r.tokens for r in runs})
        span = f"{tokens[0]:.3g}" if len(tokens) == 1 else f"{tokens[0]:.3g}-{tokens[-1]:.3g}"
        table.add_row(
            kind,
            str(depth),
            f"{runs[0].params:.3g}",
            str(len(runs)),
            span,
            format_flops(sum(r.ledger.total for r in runs)),
        )
    err_console.print(table)
    for phase, value in ledger.items():
        err_console.print(f"  {phase:<22} {format_flops(value)} FLOPs", highlight=False)
    if graph.saved.total > 0:
        err_console.print(
            f"  cooldown branches save {format_flops(graph.saved.total)} FLOPs (their trunks "
            "train their shared steps; the table counts only the cooldowns)",
            highlight=False,
        )
    if est.seconds is None:
        err_console.print(
            "estimated wall time: unknown (models too large to time here; set throughput: "
            "in the spec, training FLOPs per second per worker)",
            highlight=False,
        )
    else:
        rates = est.throughput
        if len(set(rates.values())) == 1:
            rate = format_flops(next(iter(rates.values())))
        else:
            rate = ", ".join(f"d{k}: {format_flops(v)}" for k, v in rates.items())
        err_console.print(
            f"estimated wall time: {format_seconds(est.seconds)} on {spec.executor.workers} "
            f"workers ({est.source} throughput, FLOP/s per worker: {rate})",
            highlight=False,
        )
