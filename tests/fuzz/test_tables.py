"""Fuzz the run-table reader and ``distillscale fit FILE``: bad tables are InputErrors / exit 2.

Guarantee under test: whatever bytes a run table holds, :func:`distillscale.read_runs` either
returns a table whose required columns are finite and positive, or raises ``InputError`` whose
message names the file; the CLI turns that into exit 2 with one line on stderr, no traceback,
and writes nothing to ``-o``.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from distillscale import read_runs
from distillscale.cli import main
from distillscale.cli.errors import cli_message
from distillscale.errors import InputError

from ._fuzz import count, fuzz_settings

REQUIRED = ("params", "tokens", "loss")
TEXT_FORMATS = (".csv", ".tsv", ".jsonl")

_TMP = Path(tempfile.mkdtemp(prefix="distillscale-fuzz-tables-"))


def _write(data: bytes, ext: str) -> Path:
    path = _TMP / f"runs{ext}"
    path.write_bytes(data)
    return path


def _assert_valid(table_frame: object) -> None:
    frame = table_frame
    for col in (*REQUIRED, "flops"):
        values = frame[col].to_numpy(dtype=float)  # type: ignore[index]
        assert np.all(np.isfinite(values)) and np.all(values > 0), (col, values)


# --- random bytes --------------------------------------------------------------------------
_ALPHABET = list(b"params,tokens,loss,run,flops,kind\t;\"'0123456789.-e+ nainfNaNtrue{}[]:\r\n")
_ALPHABET += [0x00, 0xFF, 0xEF, 0xBB, 0xBF, 0xE9]
_SEEDS = {
    ".csv": b"params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,2.9\n",
    ".tsv": b"params\ttokens\tloss\n1e8\t2e9\t3.1\n2e8\t4e9\t2.9\n",
    ".jsonl": b'{"params":1e8,"tokens":2e9,"loss":3.1}\n{"params":2e8,"tokens":4e9,"loss":2.9}\n',
}
_SNIPPETS = [b"nan", b"inf", b"-1", b"0", b"1e400", b"\xef\xbb\xbf", b"x", b'"', b"\n", b"\x00"]
_SNIPPETS += [b"true", b"[]", b"{}", b"null", b",", b"\t", b"9" * 400, "é".encode(), b"\xff"]


@st.composite
def mutated_bytes(draw: st.DrawFn, ext: str) -> bytes:
    """A valid table with a few random byte insertions, deletions and snippet splices."""
    data = bytearray(_SEEDS[ext])
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["delete", "insert", "splice"]))
        if op == "delete" and data:
            del data[min(pos, len(data) - 1)]
        elif op == "insert":
            data[pos:pos] = bytes([draw(st.sampled_from(_ALPHABET))])
        else:
            data[pos:pos] = draw(st.sampled_from(_SNIPPETS))
    return bytes(data)


def _bytes_for(ext: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.lists(st.sampled_from(_ALPHABET), max_size=300).map(bytes),
        mutated_bytes(ext),
    )


@fuzz_settings(120)
@given(data=st.data(), ext=st.sampled_from(TEXT_FORMATS))
def test_random_bytes_give_a_valid_table_or_an_input_error_naming_the_file(
    data: st.DataObject, ext: str
) -> None:
    count("tables.random_bytes")
    raw = data.draw(_bytes_for(ext))
    path = _write(raw, ext)
    try:
        table = read_runs(path, required=REQUIRED)
    except InputError as exc:
        assert str(path) in str(exc)
        assert "\n" not in str(exc).strip() or ext == ".csv"  # pandas may quote a line
        return
    _assert_valid(table.frame)


@fuzz_settings(30)
@given(raw=st.binary(max_size=400), ext=st.sampled_from([".parquet", ".pq"]))
def test_random_bytes_as_parquet_are_an_input_error(raw: bytes, ext: str) -> None:
    count("tables.random_parquet")
    assume(not raw.startswith(b"PAR1"))
    path = _write(raw, ext)
    with pytest.raises(InputError) as info:
        read_runs(path, required=REQUIRED)
    assert str(path) in str(info.value)


# --- structured tables: every cell drawn from good and bad values ----------------------------
_GOOD = st.floats(min_value=1e-3, max_value=1e12, allow_nan=False, allow_infinity=False)
_BAD_CELLS = st.sampled_from(
    ["", "nan", "NaN", "inf", "-inf", "-1", "0", "-0", "abc", "1e400", "1,5", "∞", "0x10", "1_0"]
)


@st.composite
def structured_table(draw: st.DrawFn) -> tuple[list[str], list[list[object]], bool]:
    """(header, rows, header_ok): canonical/unknown/duplicate/unicode headers and mixed cells.

    Good cells are floats; bad cells (only in required columns) are strings.
    """
    extra = draw(
        st.lists(st.sampled_from(["run", "flops", "kind", "note", "ünïcødé", "Δ"]), max_size=3)
    )
    header = [*REQUIRED, *extra]
    broken_header = draw(st.sampled_from(["none", "none", "drop", "duplicate", "rename"]))
    if broken_header == "drop":
        header.remove(draw(st.sampled_from(REQUIRED)))
    elif broken_header == "duplicate":
        header.append(draw(st.sampled_from(header)))
    elif broken_header == "rename":
        i = draw(st.integers(0, len(REQUIRED) - 1))
        header[i] = draw(st.sampled_from([f" {header[i]} ", header[i].upper(), "π", ""]))
    n_rows = draw(st.integers(0, 5))
    rows: list[list[object]] = []
    for _ in range(n_rows):
        row: list[object] = []
        for col in header:
            if col in ("run", "note", "ünïcødé", "Δ"):
                row.append(draw(st.text(alphabet="abcdé λ-_0", max_size=6)))
            elif col == "kind":
                row.append(draw(st.sampled_from(["teacher", "student", "baseline"])))
            elif col in REQUIRED and draw(st.integers(0, 9)) == 0:
                row.append(draw(_BAD_CELLS))
            else:
                row.append(draw(_GOOD))
        rows.append(row)
    duplicated = len(set(header)) != len(header)
    return header, rows, broken_header == "none" and not duplicated


def _encode(header: list[str], rows: list[list[object]], ext: str, bom: bool) -> bytes:
    if ext == ".jsonl":
        lines = []
        for row in rows:  # a JSON object cannot repeat a key: write pairs by hand
            cells = []
            for key, value in zip(header, row, strict=True):
                cell = json.dumps(value) if isinstance(value, float) else json.dumps(str(value))
                if isinstance(value, str) and value in ("-1", "0", "-0", "1e400"):
                    cell = value  # a number in JSON, out of domain
                cells.append(f"{json.dumps(key)}: {cell}")
            lines.append("{" + ", ".join(cells) + "}")
        text = "\n".join(lines) + "\n"
    else:
        sep = "\t" if ext == ".tsv" else ","
        body = [sep.join(header)] + [sep.join(_cell(v, sep) for v in row) for row in rows]
        text = "\n".join(body) + "\n"
    return ("\ufeff" if bom else "").encode() + text.encode()


def _runs(rows: list[list[object]], ext: str) -> list[list[object]]:
    """The rows the reader sees as runs: a CSV/TSV line of empty cells only ("", "nan") is a
    blank line (spreadsheets export trailing ``,,,`` lines), skipped by design."""
    if ext == ".jsonl":
        return rows
    return [r for r in rows if not all(v in ("", "nan", "NaN") for v in r)]


def _cell(value: object, sep: str) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return f'"{text}"' if sep in text else text


@fuzz_settings(100)
@given(table=structured_table(), ext=st.sampled_from(TEXT_FORMATS), bom=st.booleans())
def test_structured_tables_round_trip_or_fail_naming_the_file(
    table: tuple[list[str], list[list[object]], bool], ext: str, bom: bool
) -> None:
    count("tables.structured")
    header, rows, header_ok = table
    path = _write(_encode(header, rows, ext, bom), ext)
    rows = _runs(rows, ext)
    expect_ok = header_ok and rows and not any(isinstance(v, str) for r in rows for v in r[:3])
    if not expect_ok:
        with pytest.raises(InputError) as info:
            read_runs(path, required=REQUIRED)
        assert str(path) in str(info.value)
        return
    result = read_runs(path, required=REQUIRED)
    _assert_valid(result.frame)
    assert len(result) == len(rows)
    for col in REQUIRED:  # the values written are the values read, exactly
        written = [float(row[header.index(col)]) for row in rows]  # type: ignore[arg-type]
        assert result.column(col).tolist() == written


@fuzz_settings(30)
@given(
    table=structured_table(),
    ext=st.sampled_from(TEXT_FORMATS),
    data=st.data(),
)
def test_drop_invalid_keeps_exactly_the_valid_rows(
    table: tuple[list[str], list[list[object]], bool], ext: str, data: st.DataObject
) -> None:
    count("tables.drop_invalid")
    header, rows, _ = table
    assume(all(c in header for c in REQUIRED) and len(set(header)) == len(header) and rows)
    path = _write(_encode(header, rows, ext, bom=False), ext)

    def ok(v: object) -> bool:
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return math.isfinite(x) and x > 0 and not (isinstance(v, str) and v != repr(x))

    rows = _runs(rows, ext)
    good = [r for r in rows if all(ok(r[header.index(c)]) for c in REQUIRED)]
    if not good:
        with pytest.raises(InputError, match="no valid rows remain|the table is empty"):
            read_runs(path, required=REQUIRED, drop_invalid=True)
        return
    if len(good) < len(rows):
        with pytest.warns(Warning, match=f"dropped {len(rows) - len(good)} of {len(rows)} rows"):
            result = read_runs(path, required=REQUIRED, drop_invalid=True)
    else:
        result = read_runs(path, required=REQUIRED, drop_invalid=True)
    assert result.column("loss").tolist() == [float(r[header.index("loss")]) for r in good]  # type: ignore[arg-type]


# --- regressions found by this suite (fixed in table.py) ----------------------------------
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        # a data line longer than the header used to become a pandas index: values shifted
        (
            "ragged.csv",
            b"params,tokens,loss\n1,2,3,4,5\n",
            r"line 2: 5 fields but the header has 3",
        ),
        ("ragged.tsv", b"params\ttokens\tloss\n1\t2\t3\n1\t2\t3\t4\n", r"line 3"),
        # pandas renamed a repeated header to 'params.1' and the first copy won silently
        (
            "dup.csv",
            b"params,params,tokens,loss\n1,2,3,4\n",
            r"line 1: duplicate column names 'params'",
        ),
        # json.loads kept the last of two equal keys silently
        (
            "dup.jsonl",
            b'{"params":1,"params":2,"tokens":3,"loss":4}\n',
            r"line 1: key 'params' appears twice",
        ),
        # 6*N*D overflowed to inf with a RuntimeWarning and a table of infinite FLOPs
        (
            "huge.csv",
            b"params,tokens,loss\n1e200,1e200,3\n",
            r"line 2, column 'flops': .* overflows",
        ),
        # a 5000-digit integer or deep nesting: Python's own limits, now named by line
        ("big.jsonl", b'{"params":' + b"9" * 5000 + b',"tokens":2}\n', r"line 1: not a readable"),
        ("deep.jsonl", b"\n" + b"[" * 100000 + b"]" * 100000 + b"\n", r"line 2: .*too deeply"),
        (
            "latin1.csv",
            "params,tokens,loss,run\n1,2,3,caf\xe9\n".encode("latin-1"),
            r"not UTF-8 text",
        ),
    ],
)
def test_fixed_table_bugs_stay_fixed(name: str, data: bytes, message: str) -> None:
    path = _TMP / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as info:
        read_runs(path, required=REQUIRED)
    assert str(path) in str(info.value)


def test_a_bom_is_accepted_in_every_text_format() -> None:
    for ext, seed in _SEEDS.items():
        path = _write(b"\xef\xbb\xbf" + seed, ext)
        assert read_runs(path, required=REQUIRED).column("loss").tolist() == [3.1, 2.9]


def test_given_flops_are_kept_when_six_nd_would_overflow() -> None:
    path = _write(b"params,tokens,loss,flops\n1e200,1e200,3,1e300\n", ".csv")
    assert read_runs(path, required=REQUIRED).column("flops").tolist() == [1e300]


# --- through the CLI -------------------------------------------------------------------------
@fuzz_settings(60)
@given(data=st.data(), ext=st.sampled_from(TEXT_FORMATS))
def test_cli_fit_on_a_broken_table_exits_2_and_writes_nothing(
    data: st.DataObject, ext: str, capsys: pytest.CaptureFixture[str], fast_cli: None
) -> None:
    count("tables.cli_fit")
    raw = data.draw(_bytes_for(ext))
    path = _write(raw, ext)
    try:  # only tables the reader refuses: a valid one would start a (slow) fit
        read_runs(path, required=REQUIRED)
    except InputError:
        pass
    else:
        assume(False)
    out = _TMP / "fit.json"
    out.unlink(missing_ok=True)
    capsys.readouterr()
    status = main(["fit", str(path), "--law", "chinchilla", "-o", str(out)])
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert str(path.name) in captured.err
    assert not out.exists()


# --- --where is a row filter, not code ------------------------------------------------------
_WHERE_TOKENS = [
    "params", "tokens", "loss", "run", "`loss`", ">", "<", "==", "!=", ">=", "and", "or", "not",
    "in", "(", ")", "[", "]", ",", "1e8", "2.5", "'r1'", "&", "|", "~", "+", "*", ".", "abs",
    "to_csv", "__class__", "@", "lambda", ":", "x", "'a@b'",
]  # fmt: skip


@fuzz_settings(100)
@given(tokens=st.lists(st.sampled_from(_WHERE_TOKENS), min_size=1, max_size=8))
def test_random_where_expressions_filter_rows_or_are_input_errors(tokens: list[str]) -> None:
    count("tables.where")
    where = " ".join(tokens)
    path = _write(_SEEDS[".csv"], ".csv")
    try:
        table = read_runs(path, where=where, required=REQUIRED)
    except InputError as exc:
        # the library names its argument; the command line words it as the flag
        assert "where=" in str(exc) and "--where" in cli_message(exc)
        return
    assert 1 <= len(table) <= 2
    assert set(table.column("loss")) <= {3.1, 2.9}


@pytest.mark.parametrize(
    "where",
    [
        "params.to_csv('{out}')",
        "loss > 2 or params.to_csv('{out}') is None",
        "`loss`.to_csv('{out}')",
        "@pd.DataFrame().to_csv('{out}')",
    ],
)
def test_where_cannot_call_methods_or_reach_variables(where: str) -> None:
    out = _TMP / "written-by-where.csv"
    out.unlink(missing_ok=True)
    path = _write(_SEEDS[".csv"], ".csv")
    with pytest.raises(InputError, match="not allowed"):
        read_runs(path, where=where.format(out=out), required=REQUIRED)
    assert not out.exists()


def test_where_keeps_filters_with_strings_lists_and_backticks() -> None:
    path = _write(b"run,params,tokens,loss,my col\na@b,1e8,2e9,3.1,1\nc,2e8,4e9,2.9,0\n", ".csv")
    for where, n in [
        ("run == 'a@b'", 1),
        ("run in ['a@b', 'c'] and loss < 4", 2),
        ("`my col` == 1", 1),
        ("not (params * tokens > 5e17)", 1),
        ("1e8 <= params < 2e8", 1),
    ]:
        assert len(read_runs(path, where=where, required=REQUIRED)) == n, where


@fuzz_settings(40)
@given(data=st.data(), ext=st.sampled_from(TEXT_FORMATS), json_out=st.booleans())
def test_cli_predict_points_from_any_table_exits_0_or_2(
    data: st.DataObject,
    ext: str,
    json_out: bool,
    capsys: pytest.CaptureFixture[str],
    fast_cli: None,
) -> None:
    count("tables.cli_predict_points")
    path = _write(data.draw(_bytes_for(ext)), ext)
    argv = ["predict", "@hoffmann2022", "--points", str(path)]
    capsys.readouterr()
    status = main([*argv, "--json"] if json_out else argv)
    captured = capsys.readouterr()
    assert status in (0, 2), captured.err
    assert "Traceback" not in captured.err
    if status == 2:
        assert captured.out == "" and path.name in captured.err
    elif json_out:
        losses = [p["loss"] for p in json.loads(captured.out)["predictions"]]
        assert losses and all(loss is not None and loss > 0 for loss in losses)
