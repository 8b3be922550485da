"""Plain-text views of a fit: the summary (``repr(fit)``, ``distillscale fit``) and holdout lines.

Numbers are shown with six significant digits, so reprs are stable across platforms. The
notebook views (``_repr_html_``, ``to_frame``) are in :mod:`distillscale.fitting.notebook`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from distillscale.fitting.record import Fit, HoldoutRow

__all__ = ["fit_summary", "holdout_coverage"]


def fit_summary(fit: Fit) -> str:
    """Plain-text summary: law, estimator, parameters with intervals, diagnostics."""
    law = fit.law_obj
    head = f"Fit of {law.name} ({law.form}) by {fit.estimator}"
    lines = [head]
    obj = "-" if fit.objective is None else f"{fit.objective:.10g}"
    pts = "-" if fit.n_points is None else str(fit.n_points)
    lines.append(f"  delta {_g(fit.delta)}, points {pts}, objective {obj}")
    if fit.source:
        lines.append(f"  source {fit.source}")
    level = "" if fit.ci_level is None else f"{round(100 * fit.ci_level, 1):g}% "
    lines.append(f"  {'param':<8} {'value':>12}   {level + 'interval':<28} note")
    for name in law.param_names:
        value = fit.params[name]
        interval = "-"
        if fit.ci is not None and name in fit.ci:
            lo, hi = fit.ci[name]
            interval = f"[{_g(lo)}, {_g(hi)}]"
        note = []
        if fit.fixed and name in fit.fixed:
            note.append("fixed")
        if fit.ties and name in fit.ties:
            note.append(f"tied to {fit.ties[name]}")
        if fit.bounds and name in fit.bounds:
            note.append("bounded {:g}..{:g}".format(*fit.bounds[name]))
        if name in fit.diagnostics.at_bound:
            note.append("at bound")
        if name in fit.diagnostics.poorly_determined:
            note.append("poorly determined")
        lines.append(f"  {name:<8} {_g(value):>12}   {interval:<28} {', '.join(note)}".rstrip())
    d = fit.diagnostics
    state = "converged" if d.converged else "NOT converged"
    cond = "" if d.condition_number is None else f", condition number {d.condition_number:.3g}"
    lines.append(f"  diagnostics: {state}{cond}")
    lines.extend(f"  warning: {w}" for w in d.warnings)
    if fit.holdout:
        errs = np.abs([h.rel_error for h in fit.holdout])
        lines.append(
            f"  holdout: {len(fit.holdout)} runs, mean |rel error| {errs.mean():.3%}, "
            f"max {errs.max():.3%}"
        )
        cover = holdout_coverage(fit.holdout, fit.ci_level)
        if cover:
            lines.append(f"  holdout: {cover}")
    if fit.supervised is not None:
        sub = fit.supervised.summary().splitlines()
        lines.append("  supervised:")
        lines.extend("    " + s for s in sub)
    return "\n".join(lines)


def holdout_coverage(rows: tuple[HoldoutRow, ...], level: float | None) -> str:
    """``"90% prediction interval covers 7 of 8 held-out runs (88%)"``, or "" without one."""
    flags = [h.inside for h in rows if h.inside is not None]
    if not flags:
        return ""
    hit = sum(bool(f) for f in flags)
    pct = "" if level is None else f"{round(100 * level, 1):g}% "
    return (
        f"{pct}prediction interval covers {hit} of {len(flags)} held-out runs "
        f"({hit / len(flags):.0%})"
    )


def _g(value: float) -> str:
    """Six significant digits, for reprs that are stable across platforms."""
    return f"{value:.6g}"
