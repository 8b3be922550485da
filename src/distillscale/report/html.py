"""Self-contained HTML for the study report: escaped text, tables and inlined figures.

Every string that comes from a study (run names, spec values, warnings, plan text) passes
through :func:`html.escape`; figures are inlined as base64 PNG, so the page needs no network
and no JavaScript.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from distillscale.report.plots import Rendered

__all__ = [
    "Cell",
    "Section",
    "esc",
    "figure_html",
    "fmt_count",
    "fmt_loss",
    "fmt_pct",
    "fmt_value",
    "page",
    "paragraph",
    "table",
]

#: A table cell: text (escaped on output) or a number already formatted by the caller.
Cell = str | float | int | None

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em;
       margin-top: 2em; } h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
.missing { color: #8a4b00; background: #fff6e5; padding: 0.4em 0.8em; border-left: 3px solid
       #e0a030; } .warning { color: #8a0000; }
pre { background: #f7f7f7; padding: 0.8em; white-space: pre-wrap; }
nav ul { columns: 2; } .muted { color: #666; }
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One report section: an anchor id, a heading and its HTML body (already escaped)."""

    anchor: str
    title: str
    body: str


def esc(text: object) -> str:
    """Escape any value for HTML text or attribute context."""
    return html.escape(str(text), quote=True)


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def fmt_loss(value: float | None) -> str:
    """Loss in nats per token with 4 decimals; ``—`` when missing."""
    return "—" if _missing(value) else f"{value:.4f}"


def fmt_count(value: float | None) -> str:
    """Counts and FLOPs: integers below 1e5 as they are, else 3 significant digits."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) < 1e5 and float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3g}" if abs(value) < 1e5 else f"{value:.2e}"


def fmt_pct(value: float | None) -> str:
    """A fraction shown as a signed percentage with 2 decimals (``+1.25%``)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100.0 * value:+.2f}%"


def fmt_value(value: float | None) -> str:
    """A fitted parameter with 6 significant digits; ``—`` when missing."""
    return "—" if _missing(value) else f"{value:.6g}"


def paragraph(text: str, css_class: str | None = None) -> str:
    """One escaped paragraph."""
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f"<p{cls}>{esc(text)}</p>"


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], caption: str = "") -> str:
    """An HTML table; str cells are escaped and left-aligned, numbers right-aligned.

    Numbers should be formatted by the caller (``fmt_*``); a raw ``float`` is shown with
    :func:`fmt_value`.
    """
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{esc(caption)}</caption>")
    text_cols = {i for i in range(len(headers)) if rows and all(_is_text(row[i]) for row in rows)}
    head = "".join(
        f'<th class="text">{esc(h)}</th>' if i in text_cols else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            shown = fmt_value(cell) if isinstance(cell, int | float) else esc(cell or "—")
            cls = ' class="text"' if i in text_cols else ""
            cells.append(f"<td{cls}>{shown}</td>")
        parts.append(f"<tr>{''.join(cells)}</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _is_text(cell: Cell) -> bool:
    if not isinstance(cell, str):
        return False
    try:
        float(cell.rstrip("%"))
    except ValueError:
        return cell != "—"
    return False


def figure_html(name: str, rendered: Rendered, caption: str) -> str:
    """A figure inlined as a base64 PNG, with links to its PNG and SVG files beside the page."""
    data = base64.b64encode(rendered.png).decode("ascii")
    return (
        f'<figure id="fig-{esc(name)}"><img alt="{esc(caption)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{esc(caption)} (files: {esc(name)}.png, {esc(name)}.svg)</figcaption>"
        "</figure>"
    )


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole HTML document: inline CSS, a contents list and the sections."""
    nav = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
    body = "".join(
        f'<section id="{esc(s.anchor)}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>{paragraph(subtitle, 'muted')}"
        f"<nav><ul>{nav}</ul></nav>{body}</body></html>\n"
    )
