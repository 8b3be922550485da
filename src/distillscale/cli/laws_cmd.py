"""``distillscale laws``: list the laws and the bundled published coefficient sets."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table

from distillscale.cli.app import app, emit_json, err_console
from distillscale.laws import LAWS, Law, PublishedSet, list_published, load_published


def law_document(law: Law) -> dict[str, Any]:
    """A law's description as plain JSON data."""
    return {
        "name": law.name,
        "form": law.form,
        "citation": law.citation,
        "inputs": list(law.inputs),
        "derived_inputs": list(law.derived_inputs),
        "output": law.output,
        "default_delta": law.default_delta,
        "n_starts": int(law.start_grid().shape[0]),
        "parameters": [
            {
                "name": p.name,
                "fitted_as": "log" if p.log_scale else "linear",
                "lower": p.lower,
                "upper": p.upper,
                "grid": list(p.grid),
            }
            for p in law.parameters
        ],
    }


def published_document(s: PublishedSet) -> dict[str, Any]:
    """A published set's description as plain JSON data."""
    return {
        "name": "@" + s.name,
        "law": s.law,
        "params": s.params,
        "ci": None if s.ci is None else {k: list(v) for k, v in s.ci.items()},
        "ci_level": s.ci_level,
        "n_points": s.n_points,
        "param_count": s.param_count,
        "supervised": None if s.supervised is None else "@" + s.supervised.name,
        "citation": s.citation,
        "notes": s.notes,
    }


_COUNTS = {"non_embedding": "non-emb", "total": "total", "unverified": "unverif"}


def _arxiv(citation: str) -> str:
    """The ``NNNN.NNNNN`` arXiv id in a citation, or the citation itself."""
    found = re.search(r"arXiv:(\d{4}\.\d{4,5})", citation)
    return found.group(1) if found else citation


@app.command("laws")
def laws(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")
    ] = False,
) -> None:
    """List every scaling law (form, parameters, inputs) and the published coefficient sets.

    Published sets are addressed as @name wherever a fit file is accepted.
    """
    sets = [load_published(name) for name in list_published()]
    if json_out:
        emit_json(
            {
                "laws": [law_document(law) for law in LAWS.values()],
                "published": [published_document(s) for s in sets],
            }
        )
        return
    law_table = Table(title="Scaling laws", title_justify="left")
    law_table.add_column("law", no_wrap=True)
    for column in ("form", "parameters", "inputs", "output"):
        law_table.add_column(column, overflow="fold")
    for law in LAWS.values():
        inputs = ", ".join(law.inputs)
        if law.derived_inputs:
            inputs += " (+ " + ", ".join(law.derived_inputs) + " from the supervised fit)"
        law_table.add_row(law.name, law.form, " ".join(law.param_names), inputs, law.output)
    set_table = Table(
        title="Published coefficient sets (values, citations: distillscale laws --json)",
        title_justify="left",
        box=None,  # one space between columns: 80 columns hold the longest @name whole
        header_style="bold underline",
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    # the @name is what users copy: never cut it; the rest is short enough for 80 columns
    names = ["@" + s.name for s in sets]
    set_table.add_column("name", no_wrap=True, min_width=max(map(len, names)))
    set_table.add_column("law", no_wrap=True)
    for column in ("N", "runs", "CI", "arXiv"):
        set_table.add_column(column, overflow="fold")
    for s in sets:
        ci = "—" if s.ci_level is None else f"{s.ci_level:.0%}"
        runs = "—" if s.n_points is None else str(s.n_points)
        count = _COUNTS.get(s.param_count, s.param_count)
        set_table.add_row("@" + s.name, s.law, count, runs, ci, _arxiv(s.citation))
    err_console.print(law_table)
    err_console.print(set_table)
