"""Flat run tables: CSV, TSV and JSON Lines, one row per line (a W&B runs-table CSV included).

Text cells become numbers where they read as one (``"0"`` -> 0, ``"3e-4"`` -> 0.0003) and stay
text otherwise; an empty cell is a missing value. Rows are located by physical line, the header
being line 1 of a CSV.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillscale.errors import InputError
from distillscale.runs_import.rows import SourceRow

__all__ = ["flatten", "load_json_line", "read_delimited", "read_jsonl", "scalar", "strict_json"]


def scalar(text: str) -> Any:
    """A text cell as int, float, bool (``true``/``false``) or text; None for an empty cell."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped in ("true", "false"):
        return stripped == "true"
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested JSON objects as one level, keys joined by ``.``; lists kept as JSON text."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def read_delimited(path: Path, sep: str) -> Iterator[SourceRow]:
    """Rows of a CSV (``sep=","``) or TSV file with the header on line 1."""
    name = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=sep)
            header = next(reader, None)
            if not header or not any(h.strip() for h in header):
                raise InputError(f"{name} line 1: no header; the first line names the columns")
            header = [h.strip() for h in header]
            dup = sorted({h for h in header if header.count(h) > 1})
            if dup or "" in header:
                what = (
                    f"duplicate column names {', '.join(map(repr, dup))}"
                    if dup
                    else (f"column {header.index('') + 1} has no name")
                )
                raise InputError(f"{name} line 1: {what}; give each column one distinct name")
            start = 1
            for cells in reader:
                line, start = start + 1, reader.line_num  # a quoted cell may span lines
                if not any(c.strip() for c in cells):
                    continue  # a blank line
                if len(cells) > len(header):
                    raise InputError(
                        f"{name} line {line}: {len(cells)} fields but the header has "
                        f"{len(header)}; check the delimiter and quoting of that line"
                    )
                values = {h: scalar(c) for h, c in zip(header, cells, strict=False)}
                yield SourceRow(values=values, where=f"{name} line {line}")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8"
        ) from None
    except csv.Error as exc:
        raise InputError(f"{name}: cannot read as CSV: {exc}") from None


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Duplicate(Exception):
    """A JSON object repeats a key (``json`` would keep the last value silently)."""


def strict_json(text: str, where: str) -> Any:
    """Parse JSON, refusing a key repeated in one object; refusals name ``where``."""
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except _Duplicate as exc:
        raise InputError(f"{where}: key {exc.args[0]!r} appears twice in one object") from None
    except (ValueError, RecursionError):
        raise InputError(f"{where}: not readable JSON (a huge number or deep nesting)") from None


def load_json_line(text: str, where: str) -> dict[str, Any]:
    """One JSON object, with every refusal naming ``where``."""
    try:
        record = json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
    except _Duplicate as exc:
        raise InputError(f"{where}: key {exc.args[0]!r} appears twice in one object") from None
    except (ValueError, RecursionError):
        raise InputError(f"{where}: not a readable JSON object") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, found {type(record).__name__}")
    return record


def read_jsonl(path: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """``(object, where)`` per non-blank line of a JSON Lines file."""
    name = str(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    where = f"{name} line {number}"
                    yield load_json_line(text, where), where
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8"
        ) from None
