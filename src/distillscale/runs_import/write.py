"""Write a canonical run table: CSV, TSV or JSON Lines, replaced atomically.

Columns: the canonical ones present (in docs/conventions.md order), then the others in order of
first appearance. Numbers are written so that reading them back gives the same float (whole
numbers below 1e15 without a decimal point, others as Python's shortest ``repr``); a missing
value is an empty CSV cell, and a key left out of a JSON line.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distillscale.atomic import atomic_open
from distillscale.errors import InputError
from distillscale.runs_import.rows import CANONICAL

__all__ = ["OUTPUT_FORMATS", "column_order", "write_rows"]

OUTPUT_FORMATS = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".ndjson": None}


def column_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Canonical columns present, in canonical order, then the rest by first appearance."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return [c for c in CANONICAL if c in seen] + [c for c in seen if c not in CANONICAL]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def write_rows(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write ``rows`` to ``path`` (format from the suffix); nothing is left on failure.

    Raises
    ------
    InputError
        Unknown suffix, missing folder, or the file cannot be written.
    """
    out = Path(path)
    sep = OUTPUT_FORMATS.get(out.suffix.lower(), "?")
    if sep == "?":
        raise InputError(
            f"-o {out}: unknown output format {out.suffix or '(no extension)'!r}; use "
            f"{', '.join(OUTPUT_FORMATS)}"
        )
    if out.is_dir():
        raise InputError(f"-o {out}: is a directory; give a file such as {out / 'runs.csv'}")
    if not out.parent.is_dir():
        raise InputError(f"-o {out}: folder {out.parent} does not exist; create it first")
    columns = column_order(rows)
    try:
        with atomic_open(out, "w", newline="") as handle:
            if sep is None:
                for row in rows:
                    doc = {c: row[c] for c in columns if row.get(c) is not None}
                    handle.write(json.dumps(doc, allow_nan=False) + "\n")
            else:
                writer = csv.writer(handle, delimiter=sep, lineterminator="\n")
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([_cell(row.get(c)) for c in columns])
    except OSError as exc:
        raise InputError(f"-o {out}: cannot write ({exc.strerror or exc})") from None
    except ValueError as exc:  # a non-finite number in an extra column of a JSON line
        raise InputError(f"-o {out}: {exc}; write CSV instead") from None
    return out
