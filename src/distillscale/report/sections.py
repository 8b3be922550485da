"""Report sections about the study itself, and :func:`build_sections`, which assembles all.

The study sections are the summary, the FLOPs ledger, loss curves, fitted parameters, the plan
and the spec; the law sections live in :mod:`distillscale.report.law_sections`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from distillscale.report import plots
from distillscale.report.fitted import load_fits
from distillscale.report.html import (
    Cell,
    Section,
    esc,
    figure_html,
    fmt_count,
    fmt_loss,
    fmt_value,
    paragraph,
    table,
)
from distillscale.report.law_sections import (
    distillation_section,
    holdout_frame,
    holdout_section,
    residuals_section,
    supervised_section,
)
from distillscale.report.load import FIT_NAMES, StudyData, done_mask, failed_mask

__all__ = ["LEDGER_PHASES", "build_sections"]

log = logging.getLogger(__name__)

#: Ledger phases in report order (``ledger.json`` keys); other numeric keys follow them.
LEDGER_PHASES: tuple[str, ...] = (
    "student_training",
    "teacher_training",
    "supervised_training",
    "teacher_inference",
    "logit_cache",
)


def build_sections(data: StudyData, figures: dict[str, plots.Rendered]) -> list[Section]:
    """All report sections in order; rendered figures are added to ``figures`` by name.

    A section that fails to build (say, a fit whose ``predict`` rejects the study's runs) is
    replaced by a note with the error, so that the rest of the report is still written.
    """
    fits, fit_problems = load_fits(data.study_dir, FIT_NAMES)
    problems = [*data.problems, *fit_problems]
    builders: list[tuple[str, str, Callable[[], Section]]] = [
        ("summary", "Summary", lambda: summary_section(data, problems)),
        (
            "supervised",
            "Supervised law",
            lambda: supervised_section(data, fits.get("supervised"), figures),
        ),
        (
            "distillation",
            "Distillation law",
            lambda: distillation_section(data, fits.get("distillation"), figures),
        ),
        ("residuals", "Residuals", lambda: residuals_section(data, fits, figures)),
        ("holdout", "Held-out check", lambda: holdout_section(data, figures)),
        ("ledger", "FLOPs ledger", lambda: ledger_section(data, figures)),
        ("curves", "Loss curves", lambda: curves_section(data, figures)),
        ("parameters", "Fitted parameters", lambda: parameters_section(data)),
        ("plan", "Plan", lambda: plan_section(data)),
        ("spec", "Study spec", lambda: spec_section(data)),
    ]
    return [_guarded(anchor, title, build, figures) for anchor, title, build in builders]


def _guarded(
    anchor: str, title: str, build: Callable[[], Section], figures: dict[str, plots.Rendered]
) -> Section:
    try:
        return build()
    except Exception as exc:  # noqa: BLE001  one bad piece must not cost the whole report
        log.warning("report: section %r could not be built", anchor, exc_info=True)
        figures.pop(anchor, None)
        text = f"This section could not be built: {type(exc).__name__}: {exc}"
        return Section(anchor=anchor, title=title, body=paragraph(text, "missing"))


def _missing(text: str) -> str:
    return paragraph(text, "missing")


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s ({seconds:.0f} s)"


def _ledger_total(ledger: Mapping[str, Any] | None) -> float | None:
    if ledger is None:
        return None
    total = ledger.get("total")
    return float(total) if isinstance(total, int | float) else None


def _fit_summary(data: StudyData) -> str:
    """First lines of the summary: each law's held-out errors and its doubtful coefficients.

    Held-out errors are |predicted - observed| / observed over the runs the fit did not see
    (mean and max, as percentages); a coefficient is doubtful when the fit's diagnostics list it
    at a bound or poorly determined (wide bootstrap interval, or nearly collinear).
    """
    rows: list[list[Cell]] = []
    for name, doc in data.fit_docs.items():
        frame = holdout_frame(doc)
        if frame is None:
            held = "no held-out runs"
        else:
            errs = [abs(float(e)) for e in frame["rel_error"] if math.isfinite(float(e))]
            inside = [e.get("inside") for e in doc.get("holdout") or [] if isinstance(e, dict)]
            covered = sum(1 for i in inside if i is True)
            band = (
                f"; {covered}/{len(inside)} inside their prediction interval"
                if any(i is not None for i in inside)
                else ""
            )
            held = (
                f"{len(errs)} runs: mean {100 * sum(errs) / len(errs):.2f} %, "
                f"max {100 * max(errs):.2f} %{band}"
                if errs
                else "no finite held-out errors"
            )
        diag = _mapping(doc.get("diagnostics"))
        doubtful = [
            f"{p} (at a bound)" for p in diag.get("at_bound") or [] if isinstance(p, str)
        ] + [
            f"{p} (poorly determined)"
            for p in diag.get("poorly_determined") or []
            if isinstance(p, str) and p not in (diag.get("at_bound") or [])
        ]
        rows.append([f"{name} law", held, ", ".join(doubtful) or "none"])
    if not rows:
        return _missing("No fits: no held-out errors to state.")
    return table(
        ["fit", "held-out |rel. error| (runs not fitted)", "doubtful coefficients"],
        rows,
        caption="fit quality first: held-out errors and coefficients the runs do not pin down",
    )


def summary_section(data: StudyData, problems: list[str]) -> Section:
    """Held-out errors and doubtful coefficients first; then runs, FLOPs, wall time, gaps."""
    parts: list[str] = [_fit_summary(data)]
    rows: list[list[Cell]] = []
    runs = data.runs
    if runs is None:
        parts.append(_missing("runs.csv is missing or unreadable: no run counts."))
    else:
        done = int(done_mask(runs).sum())
        failed = int(failed_mask(runs).sum())
        rows.append(["runs in runs.csv", str(len(runs))])
        rows.append(["done", str(done)])
        rows.append(["failed", str(failed)])
        rows.append(["other (pending, running, ...)", str(len(runs) - done - failed)])
        wall = float(runs["wall_seconds"].sum(min_count=1))
        rows.append(["wall time, summed over runs", _duration(wall)])
    total = _ledger_total(data.ledger)
    if total is not None:
        rows.append(["total FLOPs (ledger.json)", fmt_count(total)])
    elif runs is not None and runs["flops"].notna().any():
        rows.append(["total FLOPs (sum of runs.csv flops)", fmt_count(runs["flops"].sum())])
    if rows:
        parts.append(table(["", "value"], rows))
    if runs is not None and len(runs):
        parts.append(_kind_status_table(runs))
        failed_names = runs.loc[failed_mask(runs), "run"].tolist()
        if failed_names:
            parts.append(paragraph("Failed runs: " + ", ".join(map(str, failed_names)), "warning"))
    if problems:
        items = "".join(f"<li>{esc(p)}</li>" for p in problems)
        parts.append(f'<div class="missing"><b>Missing or unreadable:</b><ul>{items}</ul></div>')
    else:
        parts.append(paragraph("All study files were found."))
    return Section(anchor="summary", title="Summary", body="".join(parts))


def _kind_status_table(runs: Any) -> str:
    counts = runs.assign(
        kind=runs["kind"].replace("", "(none)"), status=runs["status"].replace("", "(none)")
    ).pivot_table(index="kind", columns="status", values="run", aggfunc="count", fill_value=0)
    statuses = [str(s) for s in counts.columns]
    rows: list[list[Cell]] = [
        [str(kind), *[str(int(v)) for v in counts.loc[kind].tolist()]] for kind in counts.index
    ]
    return table(["kind", *statuses], rows, caption="runs by kind and status")


def ledger_section(data: StudyData, figures: dict[str, plots.Rendered]) -> Section:
    """FLOPs by phase: table (spent, planned, share) and bar chart."""
    title = "FLOPs ledger"
    ledger = data.ledger
    if ledger is None:
        return Section(
            anchor="ledger", title=title, body=_missing("ledger.json is missing or unreadable.")
        )
    planned_raw = ledger.get("planned")
    planned = planned_raw if isinstance(planned_raw, dict) else None
    extra = [k for k, v in ledger.items() if isinstance(v, int | float) and k != "total"]
    phases = [
        *[p for p in LEDGER_PHASES if p in ledger or (planned and p in planned)],
        *[k for k in extra if k not in LEDGER_PHASES],
    ]
    total = _ledger_total(ledger)
    spent = [_num(ledger.get(p)) for p in phases]
    plan = [_num(planned.get(p)) for p in phases] if planned else None
    rows: list[list[Cell]] = []
    for i, phase in enumerate(phases):
        share = spent[i] / total if total and math.isfinite(spent[i]) else math.nan
        row: list[Cell] = [phase, fmt_count(spent[i])]
        if plan is not None:
            row.append(fmt_count(plan[i]))
        row.append(f"{100 * share:.1f}%" if math.isfinite(share) else "—")
        rows.append(row)
    total_row: list[Cell] = ["total", fmt_count(total)]
    if plan is not None and planned is not None:
        total_row.append(fmt_count(_num(planned.get("total"))))
    rows.append([*total_row, "100.0%" if total else "—"])
    headers = ["phase", "spent (FLOPs)", *(["planned (FLOPs)"] if plan else []), "share"]
    parts = [table(headers, rows)]
    if any(math.isfinite(v) and v > 0 for v in [*spent, *(plan or [])]):
        figures["ledger"] = plots.ledger_figure(phases, spent, plan)
        parts.insert(0, figure_html("ledger", figures["ledger"], "FLOPs by phase"))
    return Section(anchor="ledger", title=title, body="".join(parts))


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def curves_section(data: StudyData, figures: dict[str, plots.Rendered]) -> Section:
    """Validation and training loss against tokens seen, one line per run."""
    title = "Loss curves"
    curves = data.curves
    if curves is None:
        return Section(
            anchor="curves", title=title, body=_missing("curves.csv is missing or unreadable.")
        )
    sizes: dict[str, float] = {}
    if data.runs is not None:
        pairs = zip(data.runs["run"], data.runs["params"], strict=True)
        sizes = {str(r): float(n) for r, n in pairs}
    val, train = [], []
    for run, group in curves.groupby("run", sort=True):
        group = group[group["tokens"] > 0].sort_values("tokens")
        size = sizes.get(str(run), math.nan)
        value = size if math.isfinite(size) else 0.0
        label = f"N = {fmt_count(size)}" if math.isfinite(size) else "size unknown"
        v = group[group["val_loss"].notna()]
        t = group[group["train_loss"].notna()]
        if not v.empty:
            val.append(
                plots.SeriesPoints(
                    label=label,
                    value=value,
                    x=v["tokens"].to_numpy(float),
                    y=v["val_loss"].to_numpy(float),
                )
            )
        if not t.empty:
            train.append(
                plots.SeriesPoints(
                    label=label,
                    value=value,
                    x=t["tokens"].to_numpy(float),
                    y=t["train_loss"].to_numpy(float),
                )
            )
    if not val and not train:
        return Section(anchor="curves", title=title, body=_missing("curves.csv has no losses."))
    figures["curves"] = plots.curves_figure(val, train)
    body = paragraph(
        f"{curves['run'].nunique()} runs, {len(curves)} logged steps; one line per run, "
        "coloured by model size (non-embedding parameters)."
    ) + figure_html("curves", figures["curves"], "Loss curves")
    return Section(anchor="curves", title=title, body=body)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fit_table(doc: Mapping[str, Any]) -> str:
    params = _mapping(doc.get("params"))
    ci = _mapping(doc.get("ci"))
    level = doc.get("ci_level")
    ci_name = f"{100 * level:.0f}% CI" if isinstance(level, int | float) else "CI"
    rows: list[list[Cell]] = []
    for name, value in params.items():
        bounds = ci.get(name)
        lo, hi = math.nan, math.nan
        if isinstance(bounds, list | tuple) and len(bounds) == 2:
            lo, hi = _num(bounds[0]), _num(bounds[1])
        rows.append([str(name), fmt_value(_num(value)), fmt_value(lo), fmt_value(hi)])
    meta = ", ".join(
        f"{key} {fmt_value(doc[key]) if isinstance(doc[key], float) else doc[key]}"
        for key in ("estimator", "n_points", "objective", "delta")
        if key in doc
    )
    return paragraph(f"law {doc.get('law', '?')}; {meta}") + table(
        ["parameter", "value", f"{ci_name} low", f"{ci_name} high"], rows
    )


def _spec_wording(text: str, details: Any, fix_key: str) -> str:
    """A fit warning's fixes in study-spec terms: ``fixed={'E': VALUE}`` -> ``fit.fix: {E: VALUE}``.

    A study sets no bounds, so the "or loosen bounds=... if you set one" clause is dropped.
    ``details`` is the warning's ``warning_details`` entry (absent in artifacts before 0.2.0:
    the text is shown as stored).
    """
    hints = details.get("hints") if isinstance(details, dict) else None
    for hint in hints if isinstance(hints, list) else []:
        if not (
            isinstance(hint, list) and len(hint) == 2 and all(isinstance(h, str) for h in hint)
        ):
            continue
        option, fragment = hint
        if option == "fixed":
            fixed = re.fullmatch(r"fixed=\{'?(\w+)'?: (\w+)\}", fragment)
            if fixed:
                text = text.replace(fragment, f"{fix_key}: {{{fixed[1]}: {fixed[2]}}} in the spec")
        elif option == "bounds":
            text = text.replace(f", or loosen {fragment} if you set one", "")
    return text


def _diagnostics(doc: Mapping[str, Any], fix_key: str) -> str:
    diag = doc.get("diagnostics")
    if not isinstance(diag, dict):
        return _missing("no diagnostics recorded")
    converged = diag.get("converged")
    names = {
        key: ", ".join(map(str, diag.get(key) or [])) or "none"
        for key in ("at_bound", "poorly_determined")
    }
    cond = diag.get("condition_number")
    cond_text = f"; condition number {cond:.3g}" if isinstance(cond, int | float) else ""
    parts = [
        paragraph(
            f"converged: {'yes' if converged else 'NO'}; at a bound: {names['at_bound']}; "
            f"poorly determined: {names['poorly_determined']}{cond_text}",
            None if converged else "warning",
        )
    ]
    details = diag.get("warning_details")
    warnings = diag.get("warnings") or []
    if not isinstance(details, list) or len(details) != len(warnings):
        details = [None] * len(warnings)
    for warning, detail in zip(warnings, details, strict=True):
        text = _spec_wording(str(warning), detail, fix_key)
        parts.append(paragraph(f"warning: {text}", "warning"))
    return "".join(parts)


def parameters_section(data: StudyData) -> Section:
    """Fitted parameters with confidence intervals, diagnostics and the fit notes."""
    parts: list[str] = []
    for name, doc in data.fit_docs.items():
        fix_key = "fit.supervised_fix" if name == "supervised" else "fit.fix"
        parts.append(f"<h3>{esc(name)} fit</h3>{_fit_table(doc)}{_diagnostics(doc, fix_key)}")
        nested = doc.get("supervised")
        if isinstance(nested, dict):
            parts.append(f"<h3>{esc(name)} fit: its supervised law (for L~_S)</h3>")
            parts.append(_fit_table(nested))
    if not data.fit_docs:
        parts.append(_missing("No fit artifacts in fits/."))
    if data.notes is not None:
        parts.append("<h3>Fit notes (fits/notes.json)</h3>" + _generic(data.notes))
    return Section(anchor="parameters", title="Fitted parameters", body="".join(parts))


def _generic(value: Any) -> str:
    """Any JSON value as escaped nested lists (notes have no fixed schema beyond their keys)."""
    if isinstance(value, dict):
        if not value:
            return "<i>none</i>"
        items = "".join(f"<li><b>{esc(k)}</b>: {_generic(v)}</li>" for k, v in value.items())
        return f"<ul>{items}</ul>"
    if isinstance(value, list):
        if not value:
            return "<i>none</i>"
        return "<ul>" + "".join(f"<li>{_generic(v)}</li>" for v in value) + "</ul>"
    if isinstance(value, float):
        return esc(fmt_value(value))
    return esc(value)


_PLAN_COLUMNS = (
    ("student_params", "N_S (non-embedding params)", fmt_count),
    ("student_tokens", "D_S (tokens)", fmt_count),
    ("verdict", "verdict (measured)", None),
    ("best_teacher_run", "best teacher run", None),
    ("best_teacher_loss", "its L_T (nats/token)", fmt_loss),
    ("student_loss_distilled", "distilled L_S (nats/token)", fmt_loss),
    ("student_loss_supervised", "supervised L (nats/token)", fmt_loss),
    ("margin", "margin (nats/token)", fmt_loss),
    ("predicted_verdict", "verdict (fitted laws)", None),
)


def _plan_cell(entry: Mapping[str, Any], key: str, fmt: Any) -> Cell:
    value = entry.get(key)
    if fmt is None:
        return "—" if value is None else str(value)
    return fmt(_num(value))


def plan_section(data: StudyData) -> Section:
    """The planner's verdict per student size, and its text."""
    plan = data.plan
    if plan is None:
        return Section(
            anchor="plan", title="Plan", body=_missing("plan.json is missing or unreadable.")
        )
    parts: list[str] = [
        paragraph(
            "Margin = supervised loss - distilled loss at matched compute (nats per "
            "token): positive means distillation wins."
        )
    ]
    students = [s for s in plan.get("students") or [] if isinstance(s, dict)]
    if students:
        rows = [[_plan_cell(s, key, fmt) for key, _, fmt in _PLAN_COLUMNS] for s in students]
        parts.append(table([h for _, h, _ in _PLAN_COLUMNS], rows))
    text = plan.get("text")
    if isinstance(text, str) and text.strip():
        parts.append(f"<pre>{esc(text)}</pre>")
    if len(parts) == 1:
        parts.append(_missing("plan.json has no students and no text."))
    return Section(anchor="plan", title="Plan", body="".join(parts))


def spec_section(data: StudyData) -> Section:
    """The study spec (``study.yaml``) as written by the runner."""
    if data.spec_text is None:
        return Section(
            anchor="spec", title="Study spec", body=_missing("study.yaml is missing or unreadable.")
        )
    return Section(anchor="spec", title="Study spec", body=f"<pre>{esc(data.spec_text)}</pre>")
