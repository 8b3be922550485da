"""Notebook views of plans: ``Plan.to_frame()`` and ``Plan._repr_html_`` delegate here.

The rows are the ``plan --json`` document (:meth:`Plan.to_json`) flattened: nested keys joined
by ``.`` (``flops.student``), lists written as JSON text, and each quantity's interval (when the
fit was bootstrapped) as ``low``/``high``. Units as in that document: FLOPs, parameter and token
counts, losses in nats per token.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from distillscale.fitting.notebook import html_table

if TYPE_CHECKING:
    import pandas as pd

    from distillscale.planning.results import Plan

__all__ = ["plan_frame", "plan_html", "plan_rows"]

_SKIP = ("interval", "warnings")


def _flatten(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in doc.items():
        if not prefix and key in _SKIP:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        elif isinstance(value, list):
            yield name, json.dumps(value)
        else:
            yield name, value


def plan_rows(plan: Plan) -> list[tuple[str, Any, float | None, float | None]]:
    """``(quantity, value, low, high)`` for every key of the plan's JSON document."""
    doc = plan.to_json()
    interval = doc.get("interval") or {}
    return [(key, value, *(interval.get(key) or (None, None))) for key, value in _flatten(doc)]


def _scenarios(plan: Plan) -> list[tuple[str, Plan]] | None:
    plans = getattr(plan, "plans", None)
    if plans is None:
        return None
    return [(str(p.to_json().get("scenario", p.mode)), p) for p in plans]


def plan_frame(plan: Plan) -> pd.DataFrame:
    """Quantities as the index; ``value, low, high`` (one column per scenario for a table)."""
    import pandas as pd

    table = _scenarios(plan)
    if table is not None:
        columns = {name: {k: v for k, v, _, _ in plan_rows(p)} for name, p in table}
        frame = pd.DataFrame(columns)
    else:
        rows = plan_rows(plan)
        frame = pd.DataFrame(
            [(v, lo, hi) for _, v, lo, hi in rows],
            columns=["value", "low", "high"],
            index=[k for k, _, _, _ in rows],
        )
    frame.index.name = "quantity"
    return frame


def plan_html(plan: Plan) -> str:
    """The plan as an HTML table, with its warnings."""
    title = f"distillscale plan ({plan.mode}, fit {plan.fit})"
    table = _scenarios(plan)
    if table is not None:
        values = [{k: v for k, v, _, _ in plan_rows(p)} for _, p in table]
        keys = list(dict.fromkeys(k for v in values for k in v))
        rows = [(k, *(v.get(k) for v in values)) for k in keys]
        body = html_table(("quantity", *(name for name, _ in table)), rows, title)
        warnings = [w for _, p in table for w in p.warnings]
    else:
        rows2 = [
            (k, v, "" if lo is None else f"[{lo:.4g}, {hi:.4g}]")
            for k, v, lo, hi in plan_rows(plan)
            if v is not None  # unset options (no target loss, no hardware) are not shown
        ]
        if any(r[2] for r in rows2):
            body = html_table(("quantity", "value", "interval"), rows2, title)
        else:  # no bootstrap samples (e.g. a published set): no empty interval column
            body = html_table(("quantity", "value"), [r[:2] for r in rows2], title)
        warnings = list(plan.warnings)
    notes = "".join(f"<li>{html.escape(w)}</li>" for w in dict.fromkeys(warnings))
    return f"<div class='distillscale-plan'>{body}{f'<ul>{notes}</ul>' if notes else ''}</div>"
