import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillscale.cli.errors import cli_message
from distillscale.errors import DistillscaleWarning, InputError, Where
from distillscale.table import parse_column_map, read_runs

CHINCHILLA = str(Path(__file__).resolve().parents[1] / "examples/data/chinchilla.csv")


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": ["a", "b", "c"],
            "params": [1e8, 2e8, 4e8],
            "tokens": [2e9, 4e9, 8e9],
            "loss": [3.2, 3.0, 2.8],
        }
    )


def test_reads_the_chinchilla_dataset_with_a_filter():
    table = read_runs(CHINCHILLA, where="outlier == 0", required=("params", "tokens", "loss"))
    assert len(table) == 240
    assert table.frame.index.tolist() == list(range(240))
    # flops is in the file: kept, and equal to 6ND as the dataset README states
    np.testing.assert_allclose(
        table.column("flops"), 6 * table.column("params") * table.column("tokens"), rtol=1e-9
    )
    assert max(table.column("loss")) < 3.447


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl", "ndjson"])
def test_every_format_gives_the_same_table_and_digest(tmp_path, fmt):
    df = small_frame()
    path = tmp_path / f"runs.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "tsv":
        df.to_csv(path, sep="\t", index=False)
    elif fmt == "parquet":
        df.to_parquet(path)
    else:
        df.to_json(path, orient="records", lines=True)
    table = read_runs(path)
    reference = read_runs(df)
    assert table.sha256 == reference.sha256
    pd.testing.assert_frame_equal(table.frame, reference.frame)
    assert table.source == str(path)


def test_flops_derived_as_6nd_when_absent():
    table = read_runs(small_frame())
    np.testing.assert_allclose(table.column("flops"), [1.2e18, 4.8e18, 1.92e19])


def test_column_map_renames_and_replaces():
    df = small_frame().rename(columns={"params": "n_params", "loss": "val_loss"})
    df["loss"] = [9.0, 9.0, 9.0]  # a train loss the user does not want
    table = read_runs(df, columns={"params": "n_params", "loss": "val_loss"})
    np.testing.assert_allclose(table.column("loss"), [3.2, 3.0, 2.8])
    assert "n_params" not in table.columns and "params" in table.columns


def test_map_to_a_missing_column_names_the_flag_and_columns():
    with pytest.raises(InputError) as info:
        read_runs(small_frame(), columns={"params": "n_params"})
    # the library names the argument in Python terms; the CLI writes it as --map params=n_params
    assert str(info.value).startswith(
        "columns={'params': 'n_params'}: <DataFrame> has no column 'n_params'; columns present: run"
    )
    assert info.value.where == Where(file="<DataFrame>", column="n_params")
    assert info.value.subject == ("columns", "columns={'params': 'n_params'}", "params=n_params")
    with pytest.raises(InputError, match="not a canonical column"):
        read_runs(small_frame(), columns={"size": "params"})


def test_missing_required_column_lists_columns_and_suggests_map():
    with pytest.raises(InputError) as info:
        read_runs(small_frame(), required=("params", "teacher_loss"))
    msg = str(info.value)
    assert "teacher_loss" in msg and "run, params, tokens, loss" in msg
    # the library says where and gives the fix in Python terms; the CLI writes it as --map
    assert "columns={'teacher_loss': '<your column>'}" in msg and "--" not in msg
    assert info.value.where == Where(file="<DataFrame>", column="teacher_loss")
    assert info.value.hints[0][0] == "columns"


def test_missing_column_of_a_table_names_the_place_not_a_flag():
    with pytest.raises(InputError) as info:
        read_runs(small_frame()).column("teacher_loss")
    assert info.value.where == Where(file="<DataFrame>", column="teacher_loss")
    assert "columns={'teacher_loss': '<your column>'}" in str(info.value)
    assert "--" not in str(info.value)


def test_invalid_cell_names_file_line_and_column(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run,params,tokens,loss\na,1e8,2e9,3.2\nb,2e8,4e9,-0.3\nc,4e8,8e9,2.8\n")
    with pytest.raises(InputError) as info:
        read_runs(path)
    msg = str(info.value)
    assert msg.startswith(f"{path} line 3, column 'loss': -0.3 is not positive")
    assert "loss_unit='bits'" in msg and "drop_invalid=True" in msg and "--" not in msg
    assert info.value.where == Where(file=str(path), row=3, column="loss", row_label="line")
    assert [opt for opt, _ in info.value.hints] == ["loss_unit", "drop_invalid"]


def test_line_numbers_count_blank_lines(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,loss\n1e8,2e9,3.2\n\n2e8,4e9,abc\n")
    with pytest.raises(InputError, match=r"line 4, column 'loss': 'abc' is not a number"):
        read_runs(path)


def test_jsonl_lines_and_bad_json(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(
        '{"params": 1e8, "tokens": 2e9, "loss": 3}\n\n{"params": 0, "tokens": 1, "loss": 3}\n'
    )
    with pytest.raises(InputError, match=r"line 3, column 'params': 0.0 is not positive"):
        read_runs(path)
    path.write_text('{"params": 1e8}\n{oops\n')
    with pytest.raises(InputError, match=r"line 2: not valid JSON"):
        read_runs(path)


def test_dataframe_rows_are_one_based():
    df = small_frame()
    df.loc[1, "tokens"] = np.inf
    with pytest.raises(InputError, match=r"<DataFrame> row 2, column 'tokens': inf is infinite"):
        read_runs(df)


def test_drop_invalid_warns_once_with_the_count():
    df = small_frame().astype({"loss": object})
    df.loc[0, "loss"] = "n/a"
    df.loc[2, "params"] = -1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_runs(df, drop_invalid=True)
    assert [str(w.message) for w in caught if w.category is DistillscaleWarning] == [
        "<DataFrame>: dropped 2 of 3 rows with invalid values (first: <DataFrame> row 1, "
        "column 'loss': 'n/a' is not a number; loss is held-out cross-entropy, nats per token)"
    ]
    assert table.frame["run"].tolist() == ["b"]


def test_drop_invalid_with_nothing_left_is_an_error():
    df = small_frame()
    df["loss"] = -1.0
    with pytest.raises(InputError, match="no valid rows remain"):
        read_runs(df, drop_invalid=True)


def test_empty_cells_allowed_in_optional_columns_only():
    df = small_frame()
    df["teacher_loss"] = [2.5, np.nan, 2.4]
    table = read_runs(df)
    assert np.isnan(table.column("teacher_loss")[1])
    with pytest.raises(InputError, match=r"row 2, column 'teacher_loss': empty cell is empty"):
        read_runs(df, required=("teacher_loss",))


def test_error_must_be_a_fraction_and_kind_a_known_value():
    df = small_frame()
    df["error"] = [0.5, 1.2, 0.1]
    with pytest.raises(InputError, match=r"row 2, column 'error': 1.2 is outside \[0, 1\]"):
        read_runs(df)
    df["error"] = 0.5
    df["kind"] = ["Teacher", "student", "distilled"]
    with pytest.raises(InputError, match=r"row 3, column 'kind': 'distilled' is not one of"):
        read_runs(df)
    df["kind"] = ["Teacher", "student", "baseline"]
    assert read_runs(df).frame["kind"].tolist() == ["teacher", "student", "baseline"]


def test_loss_units_convert_to_nats():
    df = small_frame()
    df["teacher_loss"] = 2.0
    bits = read_runs(df, loss_unit="bits")
    np.testing.assert_allclose(bits.column("loss"), df["loss"] * math.log(2))
    np.testing.assert_allclose(bits.column("teacher_loss"), 2 * math.log(2))
    bpb = read_runs(df, loss_unit="bpb", bytes_per_token=4.2)
    np.testing.assert_allclose(bpb.column("loss"), df["loss"] * 4.2 * math.log(2))
    assert bits.sha256 != read_runs(df).sha256
    with pytest.raises(InputError, match="^loss_unit='bpb' needs a bytes per token") as info:
        read_runs(df, loss_unit="bpb")
    assert str(info.value).endswith("; give bytes_per_token=B")
    assert cli_message(info.value).startswith("--loss-unit bpb needs a bytes per token > 0")
    assert cli_message(info.value).endswith("; pass --bytes-per-token B")
    with pytest.raises(InputError, match="^bytes_per_token=4.0 applies only to bits") as info:
        read_runs(df, bytes_per_token=4.0)
    assert cli_message(info.value).startswith("--bytes-per-token 4.0 applies only to bits")
    with pytest.raises(InputError, match="^loss_unit='bytes' .* allowed: nats, bits, bpb") as info:
        read_runs(df, loss_unit="bytes")
    assert cli_message(info.value).startswith("--loss-unit 'bytes' is not supported")


def test_bad_where_names_the_expression():
    with pytest.raises(InputError, match=r"^where='los < 3' on <DataFrame>: .*los") as info:
        read_runs(small_frame(), where="los < 3")
    assert info.value.subject == ("where", "where='los < 3'", "'los < 3'")
    with pytest.raises(InputError, match="no rows match"):
        read_runs(small_frame(), where="loss > 10")


def test_where_runs_before_validation():
    df = small_frame()
    df.loc[0, "loss"] = -1.0
    assert len(read_runs(df, where="run != 'a'")) == 2


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("runs.xlsx", "x", "unknown table format '.xlsx'"),
        ("runs", "x", "unknown table format '\\(no extension\\)'"),
        ("runs.csv", "", "cannot read as csv"),
        ("runs.csv", "params,tokens,loss\n", "the table is empty"),
        ("runs.parquet", "not parquet", "cannot read as parquet"),
        ("runs.jsonl", "[1, 2]\n", "expected a JSON object"),
        ("runs.jsonl", "\n\n", "the table is empty"),
    ],
)
def test_unreadable_inputs(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=match):
        read_runs(path)


def test_missing_file():
    with pytest.raises(InputError, match="no such file"):
        read_runs("/nonexistent/runs.csv")


# --- property-based: malformed tables always give InputError; valid ones round-trip ----------
COLUMNS = ("params", "tokens", "loss", "teacher_loss", "error")
good_number = st.floats(min_value=1e-3, max_value=1e13, allow_nan=False)
bad_cell = st.one_of(
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(-float("inf")),
    st.floats(max_value=0.0, allow_nan=False),
    st.text(alphabet="abcxyz!?,;\"' ", min_size=1, max_size=6),
    st.booleans(),
)


@st.composite
def malformed_tables(draw):
    n = draw(st.integers(0, 6))
    cols = draw(st.lists(st.sampled_from(COLUMNS), min_size=0, max_size=5, unique=True))
    data = {c: [draw(good_number) for _ in range(n)] for c in cols}
    frame = pd.DataFrame(data, dtype=object) if cols else pd.DataFrame(index=range(n))
    required = ("params", "tokens", "loss")
    broken = n == 0 or not all(c in cols for c in required)
    if not broken:
        # break at least one cell of a required column
        col = draw(st.sampled_from(required))
        frame.loc[draw(st.integers(0, n - 1)), col] = draw(bad_cell)
    return frame, required


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=malformed_tables(), fmt=st.sampled_from(["frame", "csv", "jsonl"]))
def test_malformed_tables_always_raise_input_error(tmp_path_factory, case, fmt):
    frame, required = case
    source = frame
    if fmt != "frame":
        source = tmp_path_factory.mktemp("t") / f"runs.{fmt}"
        if fmt == "csv":
            frame.to_csv(source, index=False)
        else:
            frame.to_json(source, orient="records", lines=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DistillscaleWarning)
        with pytest.raises(InputError):
            read_runs(source, required=required)


@st.composite
def valid_tables(draw):
    n = draw(st.integers(1, 8))
    frame = pd.DataFrame(
        {
            "params": [draw(st.floats(1e5, 1e12)) for _ in range(n)],
            "tokens": [draw(st.floats(1e6, 1e14)) for _ in range(n)],
            "loss": [draw(st.floats(0.5, 10.0)) for _ in range(n)],
            "error": [draw(st.floats(0.0, 1.0)) for _ in range(n)],
        }
    )
    return frame


@settings(max_examples=60, deadline=None)
@given(frame=valid_tables(), fmt=st.sampled_from(["csv", "jsonl", "parquet"]))
def test_valid_tables_round_trip(tmp_path_factory, frame, fmt):
    path = tmp_path_factory.mktemp("t") / f"runs.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False, float_format="%.17g")
    elif fmt == "jsonl":
        records = frame.to_dict(orient="records")
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        frame.to_parquet(path)
    table = read_runs(path, required=("params", "tokens", "loss"))
    for col in frame.columns:
        np.testing.assert_allclose(table.column(col), frame[col].to_numpy(), rtol=1e-15)
    np.testing.assert_allclose(
        table.column("flops"), 6 * frame["params"] * frame["tokens"], rtol=1e-15
    )


def test_parse_column_map():
    assert parse_column_map(["params=n_params", " loss = val_loss "]) == {
        "params": "n_params",
        "loss": "val_loss",
    }
    assert parse_column_map([]) == {}
    with pytest.raises(InputError, match="expected CANONICAL=YOUR_COLUMN"):
        parse_column_map(["params"])
    with pytest.raises(InputError, match="expected CANONICAL=YOUR_COLUMN"):
        parse_column_map(["params="])
    with pytest.raises(InputError, match="'size' is not a canonical column"):
        parse_column_map(["size=n"])
    with pytest.raises(InputError, match="given twice"):
        parse_column_map(["loss=a", "loss=b"])
