"""The run table: read a user's or a study's runs, map columns, validate, convert units.

One row per run (docs/conventions.md, "The run table"). :func:`read_runs` accepts CSV (``.csv``),
TSV (``.tsv``, ``.tab``), Parquet (``.parquet``, ``.pq``; needs pyarrow), JSON Lines
(``.jsonl``, ``.ndjson``) or a pandas DataFrame, and returns a :class:`RunTable` whose frame
holds canonical column names and canonical units (losses in nats per token).

Where problems are reported. Text files (CSV, TSV, JSON Lines) are located by **line**: the
physical line of the file, counting from 1, so a CSV's header is line 1 and its first run is line
2. Parquet files and DataFrames are located by **row**: the 1-based position of the run among the
data rows, as read.

Validation is column by column with numpy. A numeric canonical column that is present must hold
numbers: non-numeric text and infinities are invalid anywhere, as are values outside the column's
domain (non-positive counts, FLOPs and losses; ``error`` outside [0, 1]; negative ``step``). An
empty cell (NaN) is invalid in a required column and allowed elsewhere (a supervised baseline has
no ``teacher_loss``). ``flops``, when absent, is derived as 6·N·D (Kaplan et al. 2020 §2.1),
because a row carries no architecture for the exact count; cells left empty in a ``flops`` column
are filled the same way. Tables written by distillscale studies carry exact FLOPs.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import logging
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from distillscale import example_data
from distillscale.columns import LOSS_UNITS, loss_scale, parse_column_map
from distillscale.errors import DistillscaleWarning, InputError, Where, require
from distillscale.runs import TABLE_KINDS

__all__ = ["CANONICAL_COLUMNS", "LOSS_UNITS", "RunTable", "parse_column_map", "read_runs"]

logger = logging.getLogger(__name__)

#: Canonical column -> (domain, meaning); numeric domains are checked on every present column.
CANONICAL_COLUMNS: dict[str, tuple[str, str]] = {
    "run": ("text", "unique run id"),
    "params": ("positive", "N, parameters (count)"),
    "tokens": ("positive", "D, training tokens (count), repeats included"),
    "loss": ("positive", "held-out cross-entropy, nats per token"),
    "flops": ("positive", "training FLOPs (operations)"),
    "teacher_loss": ("positive", "teacher cross-entropy against the data, nats per token"),
    "teacher_params": ("positive", "N_T, teacher parameters (count)"),
    "teacher_tokens": ("positive", "D_T, teacher training tokens (count)"),
    "kind": ("kind", "teacher, student, baseline or single"),
    "error": ("fraction", "downstream error, a fraction in [0, 1]"),
    "unique_tokens": ("positive", "U, unique training tokens (count)"),
    "step": ("non_negative", "optimizer step"),
    "lr": ("positive", "learning rate"),
}

_LOSS_COLUMNS = ("loss", "teacher_loss")
_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_DOMAIN_TEXT = {
    "positive": "is not positive; {col} must be > 0 ({meaning})",
    "non_negative": "is negative; {col} must be >= 0 ({meaning})",
    "fraction": "is outside [0, 1]; {col} is {meaning}",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTable:
    """A validated run table.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run, canonical column names (docs/conventions.md), losses in nats per token,
        a fresh ``RangeIndex``. Non-canonical columns are kept as read.
    source : str
        The file path as given, or ``"<DataFrame>"``.
    sha256 : str
        Hex SHA-256 of the canonical columns (names and values), independent of file format
        and of non-canonical columns; fits record it as ``data_sha256``.
    """

    frame: pd.DataFrame
    source: str
    sha256: str

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of :attr:`frame`."""
        return tuple(str(c) for c in self.frame.columns)

    def column(self, name: str) -> NDArray[np.float64]:
        """A numeric column as a float array, shape (n,), in canonical units.

        Raises
        ------
        InputError
            When the table has no such column.
        """
        if name not in self.frame.columns:
            raise InputError(
                f"{self.source}: no column {name!r}; columns present: {', '.join(self.columns)}",
                where=Where(file=self.source, column=name),
                hints=(("columns", f"map one with columns={{{name!r}: '<your column>'}}"),),
            )
        return self.frame[name].to_numpy(dtype=float)


def read_runs(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    where: str | None = None,
    drop_invalid: bool = False,
    required: Sequence[str] = (),
    loss_unit: str = "nats",
    bytes_per_token: float | None = None,
) -> RunTable:
    """Read, map, filter, validate and convert a run table.

    Parameters
    ----------
    source : path or pandas.DataFrame
        CSV, TSV, Parquet or JSON Lines file (chosen by extension), a table installed with the
        package (``"example:data_constrained"``, :mod:`distillscale.example_data`), or a
        DataFrame.
    columns : mapping of str to str, optional
        Canonical name -> the table's column name (``{"params": "n_params"}``; the CLI's
        ``--map params=n_params``). A mapped column replaces a column already carrying the
        canonical name.
    where : str, optional
        A pandas query (``"outlier == 0"``) evaluated after mapping and before validation,
        on values as stored in the file (losses in the file's unit).
    drop_invalid : bool
        Drop rows with invalid values, with one :class:`DistillscaleWarning` saying how many,
        instead of raising.
    required : sequence of str
        Canonical columns that must be present and filled (a law's inputs and output).
    loss_unit : {"nats", "bits", "bpb"}
        Unit of ``loss`` and ``teacher_loss`` in the source: nats per token, bits per token
        (base 2), or bits per byte (needs ``bytes_per_token``).
    bytes_per_token : float, optional
        Average bytes per token of the tokenizer on the evaluation data, for ``"bpb"``.

    Returns
    -------
    RunTable

    Raises
    ------
    InputError
        Unreadable file, unknown extension, empty table, unknown or missing columns, a bad
        ``where`` expression, or (without ``drop_invalid``) an invalid value, named by place.
    """
    scale = loss_scale(loss_unit, bytes_per_token)
    name, frame, unit = _load(source)
    frame = _map_columns(frame, columns or {}, name)
    if where is not None:
        frame = _query(frame, where, name)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name}: missing required column(s) {', '.join(missing)}; columns present: "
            f"{', '.join(map(str, frame.columns)) or 'none'}",
            where=Where(file=name, column=missing[0]),
            hints=(("columns", f"rename them with columns={{{missing[0]!r}: '<your column>'}}"),),
        )
    frame = _validate(frame, name, unit, set(required), drop_invalid)
    for col in _LOSS_COLUMNS:
        if col in frame.columns and scale != 1.0:
            frame[col] = frame[col] * scale
    frame = _derive_flops(frame, name, unit)
    frame = frame.reset_index(drop=True)
    return RunTable(frame=frame, source=name, sha256=_digest(frame))


# --- loading -------------------------------------------------------------------------------


def _load(source: str | os.PathLike[str] | pd.DataFrame) -> tuple[str, pd.DataFrame, str]:
    """The source's name, its frame indexed by location number, and the location word."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return "<DataFrame>", _nonempty(frame, "<DataFrame>"), "row"
    name = str(source)
    path = Path(example_data.resolve(name))
    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"{name}: unknown table format {path.suffix or '(no extension)'!r}; allowed: "
            f"{', '.join(_READERS)} (CSV, TSV, Parquet, JSON Lines)"
        )
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    try:
        if kind == "parquet":
            require("pyarrow", "parquet", "reading Parquet run tables")
            frame = pd.read_parquet(path)
            frame.index = pd.RangeIndex(1, len(frame) + 1)
            return name, _nonempty(frame, name), "row"
        if kind == "jsonl":
            return name, _nonempty(_read_jsonl(path, name), name), "line"
        frame = _read_delimited(path, name, "\t" if kind == "tsv" else ",")
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 text (found byte 0x{exc.object[exc.start]:02x}); save the file "
            "as UTF-8"
        ) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{name}: cannot read as {kind}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001  pyarrow and csv raise their own types
        raise InputError(f"{name}: cannot read as {kind}: {type(exc).__name__}: {exc}") from exc
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # physical lines; the header is line 1
    frame = frame.dropna(how="all")  # blank lines
    return name, _nonempty(frame, name), "line"


def _read_delimited(path: Path, name: str, sep: str) -> pd.DataFrame:
    """CSV or TSV with the header on line 1; every data line must fit the header's columns.

    ``index_col=False`` stops pandas from silently turning the leading fields of rows that are
    longer than the header into an index (which shifts every value one column to the right), and
    the raw header is checked for duplicates before pandas renames them ``params.1``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                path, sep=sep, skip_blank_lines=False, low_memory=False, index_col=False
            )
        except pd.errors.ParserWarning:
            raise InputError(_long_row(path, name, sep)) from None
    header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, index_col=False)
    names = ["" if pd.isna(c) else str(c) for c in header.iloc[0]] if len(header) else []
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise InputError(
            f"{name} line 1: duplicate column names {', '.join(map(repr, dup))}; "
            "give each column one distinct, non-empty name (or drop the copy)"
        )
    return frame


def _long_row(path: Path, name: str, sep: str) -> str:
    """The message for a data line with more fields than the header, naming the line."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle, delimiter=sep)
        width = len(next(rows, []))
        for row in rows:
            if len(row) > width:
                return (
                    f"{name} line {rows.line_num}: {len(row)} fields but the header has "
                    f"{width}; check the delimiter and quoting of that line"
                )
    return f"{name}: a line has more fields than the header's {width}; check the delimiter"


def _read_jsonl(path: Path, name: str) -> pd.DataFrame:
    """JSON Lines: one object per non-blank line, indexed by line number."""
    records: list[dict[str, object]] = []
    lines: list[int] = []
    with path.open(encoding="utf-8-sig") as handle:  # -sig: a leading BOM is not an error
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text, object_pairs_hook=_unique_keys)
            except json.JSONDecodeError as exc:
                raise InputError(f"{name} line {number}: not valid JSON ({exc.msg})") from exc
            except _DuplicateKeyError as exc:
                raise InputError(
                    f"{name} line {number}: key {exc.args[0]!r} appears twice in one object; "
                    "give each column once"
                ) from None
            except (ValueError, RecursionError) as exc:  # a 5000-digit integer, deep nesting
                what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise InputError(
                    f"{name} line {number}: not a readable JSON object ({what.split(';')[0]}); "
                    "write each run as one flat object of numbers and strings"
                ) from None
            if not isinstance(record, dict):
                raise InputError(
                    f"{name} line {number}: expected a JSON object per line, "
                    f"found {type(record).__name__}"
                )
            records.append(record)
            lines.append(number)
    return pd.DataFrame.from_records(records, index=pd.Index(lines))


class _DuplicateKeyError(Exception):
    """A JSON object repeats a key (``json`` would silently keep the last value)."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    record: dict[str, object] = {}
    for key, value in pairs:
        if key in record:
            raise _DuplicateKeyError(key)
        record[key] = value
    return record


def _nonempty(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if len(frame) == 0 or len(frame.columns) == 0:
        raise InputError(f"{name}: the table is empty; it needs a header and one row per run")
    frame.columns = [str(c) for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        dup = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        raise InputError(f"{name}: duplicate column names {', '.join(dup)}")
    return frame


def _map_subject(canonical: str, theirs: str) -> tuple[str, str, str]:
    """The ``subject`` of an error about one mapping (``--map canonical=theirs``)."""
    return ("columns", f"columns={{{canonical!r}: {theirs!r}}}", f"{canonical}={theirs}")


def _where_subject(where: str) -> tuple[str, str, str]:
    """The ``subject`` of an error about a row filter (``--where EXPR``)."""
    return ("where", f"where={where!r}", repr(where))


def _map_columns(frame: pd.DataFrame, columns: Mapping[str, str], name: str) -> pd.DataFrame:
    """Rename the user's columns to canonical names (``--map canonical=theirs``)."""
    for canonical, theirs in columns.items():
        if canonical not in CANONICAL_COLUMNS:
            raise InputError(
                f": {canonical!r} is not a canonical column; "
                f"allowed: {', '.join(CANONICAL_COLUMNS)}",
                subject=_map_subject(canonical, theirs),
            )
        if theirs not in frame.columns:
            raise InputError(
                f": {name} has no column {theirs!r}; columns present: {', '.join(frame.columns)}",
                where=Where(file=name, column=theirs),
                subject=_map_subject(canonical, theirs),
            )
    targets = list(columns.values())
    if len(set(targets)) != len(targets):
        raise InputError(
            f": one column mapped to two names ({', '.join(targets)})",
            where=Where(file=name),
            subject=("columns", "columns", ""),
        )
    replaced = [c for c in columns if c in frame.columns and columns[c] != c]
    frame = frame.drop(columns=replaced)
    return frame.rename(columns={theirs: canonical for canonical, theirs in columns.items()})


#: What a ``where`` filter may contain: columns, literals, comparisons, boolean and arithmetic
#: operators. No calls, attributes, subscripts, lambdas or ``@`` variables: pandas would run
#: ``params.to_csv('/any/path')`` as a method call, and a row filter needs none of that.
_WHERE_NODES = (
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name, ast.Load,
    ast.Constant, ast.List, ast.Tuple, ast.Set, ast.boolop, ast.operator, ast.unaryop, ast.cmpop,
)  # fmt: skip


def _check_where(where: str, name: str) -> None:
    """Refuse a ``where`` expression that is more than a row filter (see :data:`_WHERE_NODES`)."""
    text = re.sub(r"`[^`]*`", "_col", where)  # backtick-quoted column names
    if "@" in re.sub(r"'[^']*'|\"[^\"]*\"", "''", text):  # outside string literals
        raise InputError(
            f" on {name}: '@' variables are not allowed; compare columns "
            'with literal values, e.g. "params > 1e8 and loss < 4"',
            subject=_where_subject(where),
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return  # pandas reports the syntax error in its own words
    for node in ast.walk(tree):
        if not isinstance(node, _WHERE_NODES):
            shown = ast.get_source_segment(text, node) or type(node).__name__
            raise InputError(
                f" on {name}: {shown!r} is not allowed (a "
                f"{type(node).__name__}); a filter compares columns with values using "
                "==, !=, <, <=, >, >=, in, and, or, not and arithmetic, e.g. "
                "\"kind == 'student' and params > 1e8\"",
                subject=_where_subject(where),
            )


def _query(frame: pd.DataFrame, where: str, name: str) -> pd.DataFrame:
    _check_where(where, name)
    try:
        result = frame.query(where)
    except Exception as exc:  # noqa: BLE001  pandas raises many types for a bad expression
        raise InputError(
            f" on {name}: {type(exc).__name__}: {exc}; use a pandas query over "
            f'the columns {", ".join(frame.columns)}, e.g. "params > 1e8 and loss < 4"',
            subject=_where_subject(where),
        ) from exc
    if not isinstance(result, pd.DataFrame):
        raise InputError(f" on {name}: not a row filter", subject=_where_subject(where))
    if len(result) == 0:
        raise InputError(
            f" on {name}: no rows match ({len(frame)} before)", subject=_where_subject(where)
        )
    return result


# --- validation ----------------------------------------------------------------------------
def _validate(
    frame: pd.DataFrame, name: str, unit: str, required: set[str], drop_invalid: bool
) -> pd.DataFrame:
    """Check every canonical column; raise on the first problem or drop the bad rows."""
    frame = frame.copy()
    bad_rows = np.zeros(len(frame), dtype=bool)
    # (position, message, place, whether another loss unit may explain it) of the earliest problem
    first: tuple[int, str, Where, bool] | None = None
    n_problems = 0
    for col, (domain, meaning) in CANONICAL_COLUMNS.items():
        if col not in frame.columns:
            continue
        raw = frame[col]
        why: str | NDArray[np.str_]
        unit_bad: NDArray[np.bool_] | None = None
        if domain == "text":
            bad, why = raw.isna().to_numpy() & (col in required), "is empty"
            converted = raw
        elif domain == "kind":
            text = raw.astype("string").str.strip().str.lower()
            bad = ~text.isin(TABLE_KINDS).to_numpy(dtype=bool)
            bad &= raw.notna().to_numpy() | (col in required)
            why = f"is not one of {', '.join(TABLE_KINDS)}"
            converted = text.astype(object)
        else:
            converted, bad, why, unit_bad = _check_numeric(
                raw, col, domain, meaning, col in required
            )
        frame[col] = converted
        if not bad.any():
            continue
        bad_rows |= bad
        n_problems += int(bad.sum())
        pos = int(np.argmax(bad))
        if first is None or pos < first[0]:
            place = Where(file=name, row=_label(frame.index[pos]), column=col, row_label=unit)
            text = f"{place}: {_show(raw.iloc[pos])} {_reason(why, pos)}"
            first = (pos, text, place, unit_bad is not None and bool(unit_bad[pos]))
    if first is None:
        return frame
    if not drop_invalid:
        more = f" ({n_problems - 1} more invalid cells)" if n_problems > 1 else ""
        hints = (("loss_unit", _UNIT_HINT),) if first[3] else ()
        raise InputError(
            f"{first[1]}{more}",
            where=first[2],
            hints=(
                *hints,
                ("drop_invalid", "fix the value or pass drop_invalid=True to skip rows"),
            ),
        )
    kept = frame[~bad_rows]
    n_bad = int(bad_rows.sum())
    message = (
        f"{name}: dropped {n_bad} of {len(frame)} rows with invalid values (first: {first[1]})"
    )
    if len(kept) == 0:
        raise InputError(f"{message}; no valid rows remain")
    warnings.warn(message, DistillscaleWarning, stacklevel=3)
    logger.info(message)
    return kept


_UNIT_HINT = "a loss in other units: pass loss_unit='bits' or 'bpb'"


def _label(index: object) -> int | str:
    """A row's index as the place to name: the line or row number, or the frame's own label."""
    return int(index) if isinstance(index, Integral) else str(index)


def _reason(why: str | NDArray[np.str_], pos: int) -> str:
    return why if isinstance(why, str) else str(why[pos])


def _check_numeric(
    raw: pd.Series, col: str, domain: str, meaning: str, is_required: bool
) -> tuple[pd.Series, NDArray[np.bool_], NDArray[np.str_], NDArray[np.bool_]]:
    """Coerce to float and mark invalid cells, with a reason per cell.

    The last array marks loss cells that another unit might explain (out of range, infinite).
    """
    if raw.dtype == bool:
        raw = raw.astype(object)
    values = pd.to_numeric(raw.where(~raw.map(_is_bool), None), errors="coerce").astype(float)
    arr = values.to_numpy(dtype=float)
    empty = raw.isna().to_numpy()
    text = ~empty & np.isnan(arr)
    missing = empty & is_required
    inf = np.isinf(arr)
    with np.errstate(invalid="ignore"):
        if domain == "positive":
            out = arr <= 0
        elif domain == "non_negative":
            out = arr < 0
        else:
            out = (arr < 0) | (arr > 1)
    reason = np.full(len(arr), "", dtype=object)
    reason[out] = _DOMAIN_TEXT[domain].format(col=col, meaning=meaning)
    reason[inf] = f"is infinite; {col} must be finite ({meaning})"
    reason[missing] = f"is empty; {col} is required ({meaning})"
    reason[text] = f"is not a number; {col} is {meaning}"
    unit_bad = (out | inf) & (col in _LOSS_COLUMNS)
    return values, text | missing | inf | out, reason.astype(str), unit_bad


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def _show(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "empty cell"
    return repr(value) if isinstance(value, str) else str(value)


# --- derived columns and the digest ------------------------------------------------------------
def _derive_flops(frame: pd.DataFrame, name: str, unit: str) -> pd.DataFrame:
    """Fill ``flops`` with 6·N·D (Kaplan et al. 2020 §2.1) where absent and N, D are known.

    Raises
    ------
    InputError
        When 6·N·D of a row to be filled overflows float64 (N·D above about 3e307).
    """
    if "params" not in frame.columns or "tokens" not in frame.columns:
        return frame
    n = frame["params"].to_numpy(dtype=float)
    d = frame["tokens"].to_numpy(dtype=float)
    with np.errstate(over="ignore"):
        six_nd = 6.0 * n * d
    fill = np.ones(len(frame), dtype=bool)
    if "flops" in frame.columns:
        fill = frame["flops"].isna().to_numpy()
    overflow = fill & np.isinf(six_nd)
    if overflow.any():
        pos = int(np.argmax(overflow))
        raise InputError(
            f"{name} {unit} {frame.index[pos]}, column 'flops': 6 x params x tokens = "
            f"6 x {n[pos]:g} x {d[pos]:g} overflows float64; give the run's flops or check the "
            "units of params and tokens (counts)"
        )
    if "flops" not in frame.columns:
        frame["flops"] = six_nd
    else:
        frame["flops"] = frame["flops"].fillna(pd.Series(six_nd, index=frame.index))
    return frame


def _digest(frame: pd.DataFrame) -> str:
    """SHA-256 over the canonical columns, in canonical order: name, then values."""
    h = hashlib.sha256()
    for col, (domain, _) in CANONICAL_COLUMNS.items():
        if col not in frame.columns:
            continue
        h.update(col.encode() + b"\0")
        if domain in ("text", "kind"):
            h.update("\x1f".join("" if pd.isna(v) else str(v) for v in frame[col]).encode())
        else:
            h.update(np.ascontiguousarray(frame[col].to_numpy(dtype="<f8")).tobytes())
    return h.hexdigest()
