"""``distillscale plan``: supervised optima, distillation recipes, teacher choice and cost.

Parses options, calls :func:`distillscale.planning.plan` and renders: a table on stderr, the
``plan --json`` document (docs/conventions.md) on stdout with ``--json``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from distillscale.cli.app import app, emit_json, err_console
from distillscale.errors import InputError

if TYPE_CHECKING:  # planning loads scipy: imported when `plan` runs, not at CLI start-up
    from distillscale.planning import Plan, ScenarioTable


class ScenarioName(StrEnum):
    """Compute accounting scenarios (Busbridge et al. 2025 Table 2), or all four."""

    teacher_free = "teacher-free"
    teacher_inference = "teacher-inference"
    teacher_pretraining = "teacher-pretraining"
    teacher_pretraining_inference = "teacher-pretraining-inference"
    all = "all"


class HardwareName(StrEnum):
    """Hardware presets for cost (assumptions, see docs/planning.md)."""

    h100 = "h100"
    a100 = "a100"
    h200 = "h200"
    cpu = "cpu"


class FlopsName(StrEnum):
    """FLOPs conventions."""

    six_nd = "6nd"
    busbridge = "busbridge"


def _losses(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(
            f"--teachers: {text!r} is not a comma-separated list of losses (nats per token), "
            "e.g. 2.1,2.3,2.5"
        ) from None


@app.command("plan")
def plan_cmd(
    compute: Annotated[
        float | None, typer.Option(help="Budget: training FLOPs (operations) per model/student.")
    ] = None,
    fit: Annotated[
        str, typer.Option(help="Fit file (FIT.json) or published set (@busbridge2025, ...).")
    ] = "@busbridge2025",
    student_params: Annotated[
        float | None,
        typer.Option(help="Student size N_S, parameters (non-embedding for @busbridge2025)."),
    ] = None,
    scenario: Annotated[
        ScenarioName | None,
        typer.Option(help="Teacher cost accounting; default depends on the teacher given."),
    ] = None,
    students: Annotated[int, typer.Option(help="Students sharing one teacher (K).")] = 1,
    teacher_loss: Annotated[
        float | None, typer.Option(help="Existing teacher's loss, nats per token.")
    ] = None,
    teacher_params: Annotated[
        float | None, typer.Option(help="Existing teacher's size, parameters.")
    ] = None,
    teacher_tokens: Annotated[
        float | None, typer.Option(help="Existing teacher's pretraining tokens.")
    ] = None,
    teachers: Annotated[
        str | None, typer.Option(help="Existing teachers' losses to choose from: 2.1,2.3,2.5.")
    ] = None,
    target_loss: Annotated[
        float | None, typer.Option(help="Loss to reach, nats per token (instead of --compute).")
    ] = None,
    inference_tokens: Annotated[
        float | None,
        typer.Option(help="Lifetime inference tokens (Sardana et al. 2024; UNVERIFIED objective)."),
    ] = None,
    flops: Annotated[
        FlopsName | None, typer.Option(help="FLOPs convention; default: the law's own.")
    ] = None,
    hardware_name: Annotated[
        HardwareName | None, typer.Option("--hardware", help="Cost preset (assumptions).")
    ] = None,
    peak_flops: Annotated[
        float | None, typer.Option(help="Device peak throughput, FLOP/s.")
    ] = None,
    mfu: Annotated[float | None, typer.Option(help="Model-FLOPs utilisation, 0..1.")] = None,
    price_per_hour: Annotated[
        float | None, typer.Option(help="Price per device-hour, USD.")
    ] = None,
    threshold: Annotated[
        bool,
        typer.Option("--threshold", help="Also find the budget below which distillation wins."),
    ] = False,
    samples: Annotated[
        int, typer.Option(help="Bootstrap resamples re-planned for intervals (at most).")
    ] = 100,
    plot: Annotated[
        Path | None, typer.Option(help="Write the loss-vs-compute frontier (.png or .svg).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Plan compute: supervised optimum (no --student-params) or a distillation recipe."""
    from distillscale.planning import (
        CompareToLoss,
        DistillationPlan,
        ScenarioTable,
        TeacherSpec,
        hardware,
        plan,
    )
    from distillscale.planning.plot import plot as plot_frontier

    device = None
    if hardware_name is not None or peak_flops is not None or mfu is not None:
        device = hardware(
            hardware_name.value if hardware_name is not None else None,
            peak_flops=peak_flops,
            mfu=mfu,
            price_per_hour=price_per_hour,
        )
    elif price_per_hour is not None:
        device = hardware("h100", price_per_hour=price_per_hour)
    result = plan(
        fit,
        compute=compute,
        student_params=student_params,
        scenario=None if scenario is None else scenario.value,
        students=students,
        teacher_loss=teacher_loss,
        teacher_params=teacher_params,
        teacher_tokens=teacher_tokens,
        teachers=None if teachers is None else _losses(teachers),
        target_loss=target_loss,
        inference_tokens=inference_tokens,
        flops=None if flops is None else flops.value,
        hardware=device,
        threshold=threshold,
        max_samples=samples,
    )
    if plot is not None:
        if student_params is None:
            raise InputError("--plot: the frontier is drawn for a student; add --student-params")
        first = result.plans[0] if isinstance(result, ScenarioTable) else result
        name = first.recipe.scenario if isinstance(first, DistillationPlan) else None
        if name is None and isinstance(first, CompareToLoss):
            name = first.result.scenario
        has_teacher = any(v is not None for v in (teacher_loss, teacher_params, teacher_tokens))
        written = plot_frontier(
            plot,
            fit,
            student_params=student_params,
            scenario=name or "teacher-pretraining-inference",
            students=students,
            teacher=(
                TeacherSpec(loss=teacher_loss, params=teacher_params, tokens=teacher_tokens)
                if has_teacher
                else None
            ),
            flops=None if flops is None else flops.value,
        )
        err_console.print(f"wrote {written}")
    _render(result)
    if json_out:
        emit_json(result.to_json())


def _g(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _iv(interval: dict[str, tuple[float, float]] | None, key: str) -> str:
    if not interval or key not in interval:
        return ""
    lo, hi = interval[key]
    return f"[{lo:.4g}, {hi:.4g}]"


def _render(result: Plan) -> None:
    from distillscale.planning import CompareToLoss, DistillationPlan, ScenarioTable, SupervisedPlan

    plans = result.plans if isinstance(result, ScenarioTable) else (result,)
    for p in plans:
        for w in p.warnings:
            err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if isinstance(result, ScenarioTable):
        _render_table(result)
        return
    table = Table(
        title=f"distillscale plan ({result.mode}, fit {result.fit})", title_justify="left"
    )
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("interval", justify="right")
    rows: list[tuple[str, Any, str]] = []
    if isinstance(result, SupervisedPlan):
        iv = result.interval
        rows = [
            ("objective", result.objective, ""),
            ("compute (FLOPs)", result.compute, _iv(iv, "compute")),
            ("params N*", result.params, _iv(iv, "params")),
            ("tokens D*", result.tokens, _iv(iv, "tokens")),
            ("tokens per param", result.tokens_per_param, _iv(iv, "tokens_per_param")),
            ("loss (nats/token)", result.loss, _iv(iv, "loss")),
        ]
        if result.inference_tokens:
            rows.append(("inference FLOPs", result.inference_flops, ""))
    elif isinstance(result, DistillationPlan):
        r, iv = result.recipe, result.interval
        rows = [
            ("scenario", r.scenario, ""),
            ("compute per student (FLOPs)", r.compute, ""),
            ("student params N_S", r.student_params, ""),
            ("student tokens D_S", r.student_tokens, _iv(iv, "student_tokens")),
            ("teacher params N_T", r.teacher_params or None, _iv(iv, "teacher_params")),
            ("teacher tokens D_T", r.teacher_tokens or None, _iv(iv, "teacher_tokens")),
            ("teacher loss L_T", r.teacher_loss, _iv(iv, "teacher_loss")),
            ("student loss L_S", r.student_loss, _iv(iv, "student_loss")),
            ("supervised loss (same compute)", r.supervised_loss, _iv(iv, "supervised_loss")),
            ("verdict", r.verdict, ""),
            ("margin L_sup - L_S", r.margin, _iv(iv, "margin")),
            ("P(distillation wins)", result.p_distill_wins, ""),
            ("FLOPs student", r.flops.student_training, ""),
            ("FLOPs teacher inference", r.flops.teacher_inference, ""),
            ("FLOPs teacher pretraining", r.flops.teacher_training, ""),
        ]
        if r.at_bound:
            rows.append(("at bound (1e6..1e17)", ", ".join(r.at_bound), ""))
        if result.optimal_teacher is not None:
            t = result.optimal_teacher
            rows.append(("optimal teacher loss L_T*", t.loss, ""))
            rows.append(("  compute-optimal teacher N, D", f"{t.params:.3g}, {t.tokens:.3g}", ""))
        if result.teacher_choice is not None:
            c = result.teacher_choice
            for lt, ls in zip(c.teacher_losses, c.student_losses, strict=True):
                mark = " (best)" if lt == c.teacher_losses[c.best] else ""
                rows.append((f"teacher L_T={lt:g} -> L_S{mark}", ls, ""))
        if result.threshold is not None:
            rows.append(("distillation wins below (FLOPs)", result.threshold.compute, ""))
            rows.append(("  threshold kind", result.threshold.kind, ""))
    elif isinstance(result, CompareToLoss):
        r2 = result.result
        rows = [
            ("scenario", r2.scenario, ""),
            ("target loss", r2.target, ""),
            ("student params N_S", r2.student_params, ""),
            ("supervised compute (FLOPs)", r2.supervised, ""),
            ("distillation compute (FLOPs)", r2.distillation, ""),
            ("ratio distill / supervised", r2.ratio, ""),
        ]
    if result.cost is not None:
        c2 = result.cost
        rows.append((f"{c2.hardware.name} device-hours", c2.device_hours, ""))
        rows.append(("price (USD)", c2.price, ""))
    for name, value, interval in rows:
        table.add_row(name, _g(value), interval)
    err_console.print(table)


_SHORT = {
    "teacher-free": "free",
    "teacher-inference": "inference",
    "teacher-pretraining": "pretraining",
    "teacher-pretraining-inference": "pretrain+inf",
}


def _render_table(result: ScenarioTable) -> None:
    """Scenarios as columns, quantities as rows (fits 80 columns)."""
    from distillscale.planning import CompareToLoss, DistillationPlan

    table = Table(
        title=f"distillscale plan: all scenarios (fit {result.fit})",
        title_justify="left",
        box=box.SIMPLE,
    )
    table.add_column("quantity")
    rows: dict[str, list[str]] = {}
    for p in result.plans:
        if isinstance(p, DistillationPlan):
            r = p.recipe
            table.add_column(_SHORT[r.scenario], justify="right")
            values = {
                "student tokens D_S": _g(r.student_tokens),
                "teacher params N_T": _g(r.teacher_params or None),
                "teacher tokens D_T": _g(r.teacher_tokens or None),
                "teacher loss L_T": _g(r.teacher_loss),
                "student loss L_S": _g(r.student_loss),
                "supervised loss": _g(r.supervised_loss),
                "verdict": r.verdict,
                "margin": _g(r.margin),
            }
            if p.threshold is not None:
                values["wins below (FLOPs)"] = _g(p.threshold.compute)
        elif isinstance(p, CompareToLoss):
            q = p.result
            table.add_column(_SHORT[q.scenario], justify="right")
            values = {
                "target loss": _g(q.target),
                "supervised FLOPs": _g(q.supervised),
                "distillation FLOPs": _g(q.distillation),
                "ratio": _g(q.ratio),
            }
        else:
            continue
        for k, v in values.items():
            rows.setdefault(k, []).append(v)
    for k, vs in rows.items():
        table.add_row(k, *vs)
    err_console.print(table)
