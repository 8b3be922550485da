"""End of a study: fit the supervised and distillation laws, hold out, plan, build the report.

* Supervised law (``fit.supervised``) on teachers and baselines; distillation law on students,
  with their teachers' measured losses and the supervised fit for L~_S (Busbridge et al. 2025,
  Eq. 8). Parameters in ``fit.fix`` are held at the given values or published set.
* Held-out check (Busbridge Fig. 1): each law is fitted on its higher-loss runs and predicts the
  lowest-loss fraction ``fit.holdout``; the artifacts carry observed, predicted, relative error.
* A law with too few finished runs is not fitted; ``fits/notes.json`` says which runs are
  missing. Failed (diverged) runs are left out with a warning.
* ``plan.json``: for each studied student size and token budget, the best measured distilled
  student against its compute-matched supervised baseline, and the fitted law's verdict.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from distillscale.errors import InputError
from distillscale.fitting import Fit, fit
from distillscale.laws import get_law
from distillscale.planning import compare_measured
from distillscale.study.graph import RunNode, StudyGraph
from distillscale.study.spec import StudySpec
from distillscale.study.worker import write_json_atomic

__all__ = ["FinishResult", "finish_study"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishResult:
    """What the end of a study produced.

    Parameters
    ----------
    supervised, distillation : Fit or None
        The fits (None when skipped: too few runs, or fitting disabled).
    notes : dict
        ``fits/notes.json``: fixed parameters, warnings, missing runs.
    plan : dict or None
        ``plan.json``.
    report : Path or None
        ``report/index.html`` when built.
    """

    supervised: Fit | None
    distillation: Fit | None
    notes: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] | None = None
    report: Path | None = None


def _free_params(law: str, fixed: dict[str, float | str]) -> int:
    names = get_law(law).param_names
    return len([n for n in names if n not in fixed])


def _holdout_split(frame: pd.DataFrame, fraction: float, free: int) -> float | None:
    """Loss threshold: fit on loss > t, predict loss <= t; None when too few runs to hold out."""
    if fraction <= 0:
        return None
    n = len(frame)
    k = max(1, int(math.floor(n * fraction)))
    if n - k < free + 1:
        return None
    losses = np.sort(frame["loss"].to_numpy())
    return float((losses[k - 1] + losses[k]) / 2)


def _missing(graph: StudyGraph, rows: list[dict[str, Any]], kinds: tuple[str, ...]) -> list[str]:
    status = {r["run"]: _status(r) for r in rows}
    return [
        f"{n.kind} {n.label} ({n.run_id}): {status.get(n.run_id, 'pending')}"
        for n in graph.runs
        if n.kind in kinds and status.get(n.run_id) != "done"
    ]


def _status(row: dict[str, Any]) -> str:
    """A run's status, with the reason when it failed (``failed: not run: ...``)."""
    reason = row.get("failure_reason")
    return f"{row['status']}: {reason}" if row["status"] == "failed" and reason else row["status"]


def _fit_one(
    frame: pd.DataFrame,
    law: str,
    spec: StudySpec,
    *,
    fixed: dict[str, float | str] | None,
    supervised: Fit | None,
    notes: dict[str, Any],
    label: str,
) -> Fit | None:
    free = _free_params(law, fixed or {})
    if len(frame) < free + 1:
        notes["skipped"][label] = (
            f"{len(frame)} finished runs; law {law!r} has {free} free parameters and needs at "
            f"least {free + 1}"
        )
        return None
    threshold = _holdout_split(frame, spec.fit.holdout, free)
    kwargs: dict[str, Any] = {}
    if threshold is not None:
        kwargs = {"train_where": f"loss > {threshold!r}", "test_where": f"loss <= {threshold!r}"}
    elif spec.fit.holdout > 0:
        notes["warnings"].append(
            f"{label}: too few runs to hold out {spec.fit.holdout:.0%} and still fit "
            f"{free} parameters; no held-out check"
        )
    return fit(
        frame,
        law,
        estimator=spec.fit.estimator,
        bootstrap=spec.fit.bootstrap,
        seed=spec.fit.seed,
        fixed=fixed or None,
        supervised=supervised,
        **kwargs,
    )


def fit_study(
    spec: StudySpec, graph: StudyGraph, rows: list[dict[str, Any]]
) -> tuple[Fit | None, Fit | None, dict[str, Any]]:
    """Fit the supervised and distillation laws to a study's finished runs.

    Returns
    -------
    tuple
        Supervised fit, distillation fit (either None when skipped) and the notes.
    """
    notes: dict[str, Any] = {
        "fixed": dict(spec.fit.fix),
        "supervised_fixed": dict(spec.fit.supervised_fix),
        "warnings": [],
        "missing": {},
        "skipped": {},
    }
    frame = pd.DataFrame(rows)
    failed = frame[frame["status"] == "failed"] if len(frame) else frame
    for _, r in failed.iterrows():
        notes["warnings"].append(f"{r['kind']} run {r['run']} failed; left out of the fits")
    done = frame[(frame["status"] == "done") & frame["loss"].notna()] if len(frame) else frame
    cols = ["run", "kind", "params", "tokens", "loss", "teacher_loss"]
    pretrained = {n.run_id for n in graph.runs if n.config.pretrained is not None}
    if len(done):
        done = done[~done["run"].isin(pretrained)]  # evaluated, not trained here: no (N, D) point
    sup_rows = done[done["kind"].isin(["teacher", "baseline"])][cols[:5]].astype(
        {"params": float, "tokens": float, "loss": float}
    )
    supervised = _fit_one(
        sup_rows.reset_index(drop=True),
        spec.fit.supervised,
        spec,
        fixed=dict(spec.fit.supervised_fix),
        supervised=None,
        notes=notes,
        label="supervised",
    )
    if supervised is None:
        notes["missing"]["supervised"] = _missing(graph, rows, ("teacher", "baseline"))
    distillation = None
    stu_rows = done[(done["kind"] == "student") & done["teacher_loss"].notna()][cols].astype(
        {"params": float, "tokens": float, "loss": float, "teacher_loss": float}
    )
    if supervised is None:
        notes["skipped"]["distillation"] = "needs the supervised fit for L~_S, which was skipped"
    else:
        distillation = _fit_one(
            stu_rows.reset_index(drop=True),
            "distillation",
            spec,
            fixed=dict(spec.fit.fix),
            supervised=supervised,
            notes=notes,
            label="distillation",
        )
    if distillation is None:
        notes["missing"]["distillation"] = _missing(graph, rows, ("student",))
    for name, result in (("supervised", supervised), ("distillation", distillation)):
        if result is not None and result.diagnostics.poorly_determined:
            notes["warnings"].append(
                f"{name} fit: {', '.join(result.diagnostics.poorly_determined)} poorly "
                "determined by these runs (see the artifact's diagnostics); trust predictions "
                "inside the studied range, not single coefficients"
            )
    if spec.fit.supervised_fix:
        notes["warnings"].append(
            "supervised parameters "
            + ", ".join(f"{k}={v}" for k, v in spec.fit.supervised_fix.items())
            + " are fixed, not fitted (fit.supervised_fix in the spec)"
        )
    if spec.fit.fix:
        notes["warnings"].append(
            "distillation parameters "
            + ", ".join(f"{k}={v}" for k, v in spec.fit.fix.items())
            + " are fixed, not fitted (fit.fix in the spec)"
        )
    return supervised, distillation, notes


def _plan(
    graph: StudyGraph,
    rows: list[dict[str, Any]],
    supervised: Fit | None,
    distillation: Fit | None,
) -> dict[str, Any]:
    """Per student size and token budget: best measured student, matched baseline, verdicts.

    The verdicts are planning's (:func:`distillscale.planning.compare_measured`).
    """
    by_run = {r["run"]: r for r in rows}
    nodes = {n.run_id: n for n in graph.runs}
    baselines = [n for n in graph.runs if n.kind == "baseline"]
    groups: dict[tuple[int, int], list[RunNode]] = {}
    for n in graph.runs:
        if n.kind == "student" and by_run.get(n.run_id, {}).get("status") == "done":
            groups.setdefault((n.params, n.tokens), []).append(n)
    comparisons = []
    for (n_s, d_s), students in sorted(groups.items()):
        best = min(students, key=lambda s: float(by_run[s.run_id]["loss"]))
        teacher = nodes[best.teacher_run] if best.teacher_run else None
        l_t = by_run[best.run_id]["teacher_loss"]
        base = _matched_baseline(best, teacher, baselines, by_run)
        comparisons.append(
            compare_measured(
                student_params=n_s,
                student_tokens=d_s,
                distilled_loss=float(by_run[best.run_id]["loss"]),
                teacher_run=best.teacher_run,
                teacher_label=teacher.label if teacher is not None else None,
                teacher_loss=float(l_t) if l_t is not None else None,
                teacher_params=teacher.params if teacher is not None else None,
                supervised_loss=float(by_run[base.run_id]["loss"]) if base is not None else None,
                supervised_tokens=base.tokens if base is not None else None,
                supervised=supervised,
                distillation=distillation,
            )
        )
    return {
        "students": [c.to_json() for c in comparisons],
        "text": "\n".join(c.text() for c in comparisons),
    }


def _matched_baseline(
    student: RunNode,
    teacher: RunNode | None,
    baselines: list[RunNode],
    by_run: dict[str, dict[str, Any]],
) -> RunNode | None:
    """The finished baseline of the student's shape matched to this student (and teacher)."""
    candidates = [
        b
        for b in baselines
        if b.params == student.params
        and b.config.seed == student.config.seed
        and by_run.get(b.run_id, {}).get("status") == "done"
        and b.tokens >= student.tokens
    ]
    if teacher is not None:
        tagged = [b for b in candidates if b.label.endswith(f"={teacher.label}")]
        if tagged:
            candidates = tagged
    if not candidates:
        return None
    return min(candidates, key=lambda b: b.tokens)


def finish_study(
    spec: StudySpec,
    graph: StudyGraph,
    study_dir: Path,
    rows: list[dict[str, Any]],
    *,
    console: Console,
) -> FinishResult:
    """Fit, plan and report at the end of a study (see module docstring).

    Parameters
    ----------
    spec : StudySpec
        The study.
    graph : StudyGraph
        Its runs.
    study_dir : Path
        The study directory.
    rows : list of dict
        The run table (``runs.csv`` rows).
    console : Console
        Where the summary is printed (stderr).

    Returns
    -------
    FinishResult
        Fits, notes, plan and report path.
    """
    supervised = distillation = None
    notes: dict[str, Any] = {
        "fixed": {},
        "supervised_fixed": {},
        "warnings": [],
        "missing": {},
        "skipped": {},
    }
    fits_dir = study_dir / "fits"
    fits_dir.mkdir(exist_ok=True)
    if spec.fit.enabled:
        try:
            supervised, distillation, notes = fit_study(spec, graph, rows)
        except InputError as exc:  # e.g. a fixed parameter the law does not have
            notes["warnings"].append(f"fits failed: {exc}")
            console.print(f"[yellow]warning:[/] fits failed: {exc}", highlight=False)
        for name, result in (("supervised", supervised), ("distillation", distillation)):
            path = fits_dir / f"{name}.json"
            if result is not None:
                result.save(path)
            else:
                path.unlink(missing_ok=True)
    write_json_atomic(fits_dir / "notes.json", notes)
    plan = None
    if spec.plan.enabled:
        plan = _plan(graph, rows, supervised, distillation)
        write_json_atomic(study_dir / "plan.json", plan)
    _print_summary(console, supervised, distillation, notes, plan)
    report = None
    if not spec.report:
        return FinishResult(
            supervised=supervised, distillation=distillation, notes=notes, plan=plan
        )
    try:
        from distillscale.report import build_report

        report = build_report(study_dir)
    except Exception as exc:  # noqa: BLE001  a report failure must not lose the fits
        log.warning("report failed", exc_info=True)
        console.print(
            f"[yellow]warning:[/] the report could not be built ({type(exc).__name__}: {exc}); "
            f"fits and plan are saved; retry with 'distillscale report {study_dir}'",
            highlight=False,
        )
    return FinishResult(
        supervised=supervised, distillation=distillation, notes=notes, plan=plan, report=report
    )


def _print_summary(
    console: Console,
    supervised: Fit | None,
    distillation: Fit | None,
    notes: dict[str, Any],
    plan: dict[str, Any] | None,
) -> None:
    for name, result in (("supervised", supervised), ("distillation", distillation)):
        if result is None:
            why = notes["skipped"].get(name, "fitting disabled")
            console.print(f"{name} fit: skipped ({why})", highlight=False)
            for run in notes["missing"].get(name, [])[:10]:
                console.print(f"  missing: {run}", highlight=False)
            continue
        params = ", ".join(f"{k}={v:.4g}" for k, v in result.params.items())
        console.print(
            f"{name} fit ({result.law}, {result.n_points} runs): {params}", highlight=False
        )
        if result.holdout:
            errs = [abs(h.rel_error) for h in result.holdout]
            console.print(
                f"  held out {len(errs)} lowest-loss runs: mean |rel error| "
                f"{np.mean(errs):.2%}, max {max(errs):.2%}",
                highlight=False,
            )
    for warning in notes["warnings"]:
        console.print(f"[yellow]note:[/] {warning}", highlight=False)
    if plan is not None and plan["text"]:
        console.print("plan:\n" + plan["text"], highlight=False)
