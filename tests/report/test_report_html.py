"""The HTML helpers: escaping round-trips, number formats, page structure."""

from __future__ import annotations

import math
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from distillscale.report.html import (
    Section,
    fmt_count,
    fmt_loss,
    fmt_pct,
    fmt_value,
    page,
    paragraph,
    table,
)


class Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


# text a run name or spec value could hold (no NUL/surrogates, which HTML cannot carry)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(name=TEXT, value=TEXT)
def test_table_cells_round_trip_any_text(name: str, value: str) -> None:
    parser = Cells()
    parser.feed(table(["run <id>", "value"], [[name, value]]))
    parser.close()
    assert parser.cells == ["run <id>", "value", name, value]
    assert parser.tags == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"]


@settings(max_examples=100, deadline=None)
@given(text=TEXT)
def test_paragraph_never_opens_a_tag(text: str) -> None:
    parser = Cells()
    parser.feed(paragraph(text))
    parser.close()
    assert parser.tags == ["p"]


def test_number_formats() -> None:
    assert fmt_loss(2.88921) == "2.8892"
    assert fmt_loss(math.nan) == fmt_loss(None) == "—"
    assert fmt_count(1.43e8) == "1.43e+08"
    assert fmt_count(2048.0) == "2048"
    assert fmt_count(75200.0) == "75200"
    assert fmt_count(1.05e5) == "1.05e+05"
    assert fmt_count(0.5) == "0.5"
    assert fmt_pct(-0.003984) == "-0.40%"
    assert fmt_pct(0.0) == "+0.00%"
    assert fmt_value(3355.0) == "3355"
    assert fmt_value(0.4081234567) == "0.408123"
    assert fmt_value(math.inf) == "—"


def test_text_columns_left_aligned_numbers_right() -> None:
    html = table(["run", "loss"], [["t-1", "2.8892"], ["t-2", "—"]])
    assert '<th class="text">run</th><th>loss</th>' in html
    assert '<td class="text">t-1</td><td>2.8892</td>' in html


def test_page_has_contents_and_escaped_titles() -> None:
    doc = page("study <x>", "dir & more", [Section(anchor="a", title="A & B", body="<p>x</p>")])
    assert doc.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "<title>study &lt;x&gt;</title>" in doc
    assert '<li><a href="#a">A &amp; B</a></li>' in doc
    assert '<section id="a"><h2>A &amp; B</h2><p>x</p></section>' in doc


def test_fit_warnings_name_the_study_spec_keys(tmp_path) -> None:
    """A study's report words a warning's fix as the spec key, not as fit() or a flag."""
    import json

    import numpy as np

    import distillscale
    from distillscale.report.sections import _diagnostics

    n, d = np.meshgrid([1e6, 3e6, 1e7, 3e7], [2e7, 6e7, 2e8, 6e8])
    loss = 0.0 + 40 / n.ravel() ** 0.3 + 60 / d.ravel() ** 0.3  # E = 0: ends at its bound
    path = tmp_path / "runs.csv"
    rows = [f"{a:g},{b:g},{c:.12g}" for a, b, c in zip(n.ravel(), d.ravel(), loss, strict=True)]
    path.write_text("params,tokens,loss\n" + "\n".join(rows) + "\n")
    fit = distillscale.fit(str(path), law="chinchilla")
    assert "E" in fit.diagnostics.at_bound
    doc = json.loads(fit.save(tmp_path / "fit.json").read_text())
    stored = [w for w in doc["diagnostics"]["warnings"] if w.startswith("E fitted at")]
    assert "fixed={'E': VALUE}" in stored[0] and "bounds=" in stored[0]
    body = _diagnostics(doc, "fit.supervised_fix")
    line = next(p for p in body.split("</p>") if "E fitted at" in p)
    assert "fix E (fit.supervised_fix: {E: VALUE} in the spec)" in line
    assert "fixed=" not in line and "bounds" not in line and "--fix" not in line
    # an artifact written before warnings had details: shown as stored
    del doc["diagnostics"]["warning_details"]
    assert "fixed={&#x27;E&#x27;: VALUE}" in _diagnostics(doc, "fit.fix")
