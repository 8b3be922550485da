"""build_report on a complete synthetic study: structure, self-containment, escaping, tables."""

from __future__ import annotations

import base64
import html
import json
import re
import struct
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from synthetic_study import EVIL, student_loss, supervised_loss, write_study

from distillscale.report import build_report

SECTIONS = (
    "summary",
    "supervised",
    "distillation",
    "residuals",
    "holdout",
    "ledger",
    "curves",
    "parameters",
    "plan",
    "spec",
)
FIGURES = ("supervised", "distillation", "residuals", "holdout", "ledger", "curves")


class Page(HTMLParser):
    """Collects tags, attributes, section ids, tables (as lists of cell texts) and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []
        self.tables: list[tuple[str, list[list[str]]]] = []  # (enclosing section, rows)
        self.text: list[str] = []
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("meta", "img", "br", "link"):
            self._open.append(tag)
        for key, value in attrs:
            self.attrs.append((tag, key, value))
            if key == "id" and value:
                self.ids.append(value)
                if tag == "section":
                    self._section = value
        if tag == "table":
            self.tables.append((self._section, []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        assert self._open and self._open[-1] == tag, f"unbalanced </{tag}> after {self._open[-3:]}"
        self._open.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def section_tables(self, section: str) -> list[list[list[str]]]:
        return [rows for sec, rows in self.tables if sec == section]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Page]:
    study = write_study(tmp_path_factory.mktemp("study"))
    index = build_report(study)
    text = index.read_text(encoding="utf-8")
    parser = Page()
    parser.feed(text)
    parser.close()
    return index, text, parser


def _row(rows: list[list[str]], first: str) -> list[str]:
    matches = [r for r in rows if r and r[0] == first]
    assert len(matches) == 1, f"{first!r} in {rows}"
    return matches[0]


def test_fixture_reproduces_published_sanity_tables() -> None:
    # docs/references.md: Busbridge, computed from Busbridge et al. 2025 Table 6
    assert supervised_loss(143e6, 20 * 143e6) == pytest.approx(2.8892, abs=1e-4)
    assert supervised_loss(1.82e9, 20 * 1.82e9) == pytest.approx(2.2509, abs=1e-4)
    assert student_loss(143e6, 20 * 143e6, 2.1) == pytest.approx(2.6151, abs=1e-4)
    assert student_loss(546e6, 20 * 546e6, 2.5) == pytest.approx(2.5325, abs=1e-4)


def test_index_path_and_sections(built: tuple[Path, str, Page]) -> None:
    index, text, page = built
    assert index.name == "index.html" and index.parent.name == "report"
    assert text.startswith("<!DOCTYPE html>")
    for anchor in SECTIONS:
        assert anchor in page.ids, anchor
        assert ("a", "href", f"#{anchor}") in page.attrs
    assert page.tags.count("section") == len(SECTIONS)


def test_self_contained(built: tuple[Path, str, Page]) -> None:
    _, text, page = built
    assert "http://" not in text and "https://" not in text
    assert "script" not in page.tags and "link" not in page.tags
    for tag, key, value in page.attrs:
        if key in ("src", "href"):
            assert value is not None
            assert value.startswith(("data:image/png;base64,", "#")), (tag, key, value[:40])


def test_inline_images_are_the_written_pngs(built: tuple[Path, str, Page]) -> None:
    index, _, page = built
    srcs = [v for tag, key, v in page.attrs if tag == "img" and key == "src" and v]
    assert len(srcs) == len(FIGURES)
    inlined = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    for name in FIGURES:
        png = (index.parent / f"{name}.png").read_bytes()
        assert png in inlined, name
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        width, height = struct.unpack(">II", png[16:24])
        assert 300 < width < 2000 and 200 < height < 1500


def test_svg_figures_parse_and_label_units(built: tuple[Path, str, Page]) -> None:
    index, _, _ = built
    for name in FIGURES:
        root = ET.parse(index.parent / f"{name}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
    # matplotlib keeps each text as an XML comment beside its glyph paths
    sup = (index.parent / "supervised.svg").read_text()
    for label in ("loss (nats/token)", "training tokens D (tokens)", "training compute C (FLOPs)"):
        assert f"<!-- {label} -->" in sup, label
    assert "<!-- compute (FLOPs) -->" in (index.parent / "ledger.svg").read_text()
    assert (
        "<!-- teacher loss L_T (nats/token) -->" in (index.parent / "distillation.svg").read_text()
    )


def test_user_strings_are_escaped(built: tuple[Path, str, Page]) -> None:
    _, text, page = built
    assert EVIL not in text
    assert html.escape(EVIL) in text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "demo &lt;study&gt; &amp; co" in text  # study.yaml
    assert "&lt;i&gt;few&lt;/i&gt; teachers" in text  # notes.json
    assert "gamma &lt;near&gt; its bound" in text  # fit warnings
    assert EVIL in "".join(page.text)  # shown verbatim once unescaped


def test_summary_counts(built: tuple[Path, str, Page]) -> None:
    _, _, page = built
    rows = page.section_tables("summary")[1]
    assert _row(rows, "runs in runs.csv")[1] == "20"
    assert _row(rows, "done")[1] == "19"
    assert _row(rows, "failed")[1] == "1"
    assert _row(rows, "wall time, summed over runs")[1] == "0h 19m 42s (1182 s)"
    ledger = json.loads((Path(built[0]).parent.parent / "ledger.json").read_text())
    assert _row(rows, "total FLOPs (ledger.json)")[1] == f"{ledger['total']:.2e}"
    kinds = page.section_tables("summary")[2]
    assert kinds[0] == ["kind", "done", "failed"]
    assert _row(kinds, "student")[1:] == ["9", "0"]
    assert _row(kinds, "teacher")[1:] == ["9", "1"]
    assert "Failed runs: t-broken" in "".join(page.text)
    assert "All study files were found." in "".join(page.text)


def test_summary_states_held_out_errors_and_doubtful_coefficients_first(
    built: tuple[Path, str, Page],
) -> None:
    index, _, page = built
    fits = page.section_tables("summary")[0]  # the summary's first table
    assert fits[0] == [
        "fit",
        "held-out |rel. error| (runs not fitted)",
        "doubtful coefficients",
    ]
    for name in ("supervised", "distillation"):
        doc = json.loads((index.parent.parent / "fits" / f"{name}.json").read_text())
        errs = [abs(e["rel_error"]) for e in doc["holdout"]]
        row = _row(fits, f"{name} law")
        assert row[1].startswith(
            f"{len(errs)} runs: mean {100 * sum(errs) / len(errs):.2f} %, "
            f"max {100 * max(errs):.2f} %"
        )
    assert _row(fits, "supervised law")[1].endswith("; 1/2 inside their prediction interval")
    assert _row(fits, "supervised law")[2] == "B (poorly determined)"
    assert _row(fits, "distillation law")[2] == "c1 (at a bound)"


def test_residuals_come_from_the_fitted_law(built: tuple[Path, str, Page]) -> None:
    # runs at D = 20 N are exact law values; the others are perturbed by +0.4% and -0.3%,
    # so the relative residual (pred - obs)/obs is 1/1.004 - 1 = -0.398% at worst
    _, _, page = built
    summary, worst = page.section_tables("residuals")
    assert summary[0][0] == "fit"
    sup = _row(summary, "supervised")
    assert sup[1] == "10"
    assert sup[3] == "+0.40%"
    dist = _row(summary, "distillation")
    assert dist[1:4] == ["9", "+0.00%", "+0.00%"]
    top = [r for r in worst if r[0] == "supervised"][0]
    assert top[-1] == "-0.40%"


def test_distillation_table(built: tuple[Path, str, Page]) -> None:
    _, _, page = built
    (rows,) = page.section_tables("distillation")
    assert rows[0][:3] == ["N_S (non-embedding params)", "D_S (tokens)", "students"]
    small = _row(rows, "1.43e+08")
    assert small[2] == "4"
    assert small[3] == "t-1.82B-m80"  # the strongest teacher helps the 143M student most
    lt = supervised_loss(1.82e9, 80 * 1.82e9) * (1 - 0.003)
    assert small[4:6] == [f"{lt:.4f}", f"{student_loss(1.43e8, 20 * 1.43e8, lt):.4f}"]
    # the supervised loss column is the nested supervised fit at (N_S, D_S): docs/references.md:
    # Busbridge
    assert small[-1] == "2.8892"
    assert _row(rows, "5.46e+08")[-1] == "2.5149"


def test_holdout_tables_match_artifacts(built: tuple[Path, str, Page]) -> None:
    index, _, page = built
    tables = page.section_tables("holdout")
    assert len(tables) == 2
    for name, rows in zip(("supervised", "distillation"), tables, strict=True):
        doc = json.loads((index.parent.parent / "fits" / f"{name}.json").read_text())
        assert rows[0] == [
            "run",
            "N",
            "D (tokens)",
            "observed (nats/token)",
            "predicted (nats/token)",
            "rel. error",
            "prediction interval (nats/token)",
            "inside",
        ]
        for entry, row in zip(doc["holdout"], rows[1:], strict=True):
            assert row[0] == entry["run"]
            assert row[3] == f"{entry['observed']:.4f}"
            assert row[4] == f"{entry['predicted']:.4f}"
            assert row[5] == f"{100 * entry['rel_error']:+.2f}%"
            if "prediction_interval" in entry:
                lo, hi = entry["prediction_interval"]
                assert row[6] == f"{lo:.4f} - {hi:.4f}"
                assert row[7] == ("yes" if entry["inside"] else "NO")
            else:
                assert row[6:] == ["n/a (no bootstrap)", "n/a"]
    assert [r[7] for r in tables[0][1:]] == ["NO", "yes"]
    sup_rows = tables[0]
    assert sup_rows[1][0] == "t-1.82B-m80" and sup_rows[1][5] == "+0.30%"


def test_ledger_table(built: tuple[Path, str, Page]) -> None:
    index, _, page = built
    ledger = json.loads((index.parent.parent / "ledger.json").read_text())
    (rows,) = page.section_tables("ledger")
    assert rows[0] == ["phase", "spent (FLOPs)", "planned (FLOPs)", "share"]
    assert [r[0] for r in rows[1:]] == [
        "student_training",
        "teacher_training",
        "supervised_training",
        "teacher_inference",
        "logit_cache",
        "total",
    ]
    cache = _row(rows, "logit_cache")
    assert cache[1:] == ["1.00e+17", "1.25e+17", f"{100 * 1e17 / ledger['total']:.1f}%"]
    assert _row(rows, "total")[3] == "100.0%"


def test_parameter_tables_and_diagnostics(built: tuple[Path, str, Page]) -> None:
    _, text, page = built
    tables = page.section_tables("parameters")
    sup, dist, nested = tables
    assert sup[0] == ["parameter", "value", "90% CI low", "90% CI high"]
    assert _row(sup, "E")[1:] == ["1.22", "1.2078", "1.2322"]
    assert _row(dist, "c1")[1:] == ["522.6", "517.374", "527.826"]
    assert [r[0] for r in nested[1:]] == ["E", "A", "B", "alpha", "beta", "gamma"]
    body = "".join(page.text)
    assert "converged: NO; at a bound: c1; poorly determined: none" in body
    assert "warning: c1 at bound" in body


def test_public_reexport() -> None:
    import distillscale

    assert distillscale.build_report is build_report


def test_plan_section(built: tuple[Path, str, Page]) -> None:
    _, _, page = built
    (rows,) = page.section_tables("plan")
    assert rows[0][:3] == ["N_S (non-embedding params)", "D_S (tokens)", "verdict (measured)"]
    assert rows[1] == [
        "1.43e+08",
        "—",
        "distill",
        "t-546M-m20",
        "2.5149",
        "2.7000",
        "2.8892",
        "0.1892",
        "—",
    ]
    assert rows[2][2:4] == ["supervised", EVIL]
    assert rows[2][7] == "-0.0051"


def test_no_temporary_files_left_and_rebuild(built: tuple[Path, str, Page]) -> None:
    index, _, _ = built
    names = sorted(p.name for p in index.parent.iterdir())
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]
    assert names == sorted(["index.html", *[f"{f}.{e}" for f in FIGURES for e in ("png", "svg")]])
    assert oct(index.stat().st_mode & 0o777) == "0o644"
    before = re.sub(r"built [^<]*", "", index.read_text())
    assert build_report(index.parent.parent) == index
    assert re.sub(r"built [^<]*", "", index.read_text()) == before
