"""CSV/TSV/JSONL imports: aliases, --map, units, round trips and refusals naming the place."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from distillscale import example_data
from distillscale.cli import main
from distillscale.cli.errors import cli_message
from distillscale.columns import CANONICAL_NAMES
from distillscale.errors import InputError
from distillscale.runs_import import import_runs
from distillscale.runs_import.rows import CANONICAL
from distillscale.table import CANONICAL_COLUMNS, read_runs

CHINCHILLA = Path(__file__).resolve().parents[2] / "examples" / "data" / "chinchilla.csv"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_canonical_domains_match_the_run_table() -> None:
    assert list(CANONICAL) == list(CANONICAL_COLUMNS) == list(CANONICAL_NAMES)


def test_aliases_name_the_canonical_columns(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "mine.csv",
        "run_name,n_params,tokens_seen,eval_loss,learning_rate,note\n"
        "a,1e6,2e7,3.5,0.001,x\n"
        "b,125M,2.5B,3.1,0.002,\n",
    )
    result = import_runs(src)
    assert result.rows == (
        {"run": "a", "params": 1e6, "tokens": 2e7, "loss": 3.5, "lr": 0.001, "note": "x"},
        {"run": "b", "params": 125e6, "tokens": 2.5e9, "loss": 3.1, "lr": 0.002},
    )
    assert result.columns == ("run", "params", "tokens", "loss", "lr", "note")


@pytest.mark.parametrize(
    "header",
    ["num_params,num_tokens,validation_loss", "model_size,train_tokens,val/loss",
     "config.n_params,summary.total_tokens,Val-Loss"],
)  # fmt: skip
def test_more_aliases(tmp_path: Path, header: str) -> None:
    src = _write(tmp_path / "t.csv", f"{header}\n10,20,3.0\n")
    assert import_runs(src).rows == ({"params": 10.0, "tokens": 20.0, "loss": 3.0},)


def test_two_keys_for_one_column_need_map(tmp_path: Path) -> None:
    src = _write(tmp_path / "t.csv", "params,tokens,loss,val_loss\n10,20,2.5,3.0\n")
    with pytest.raises(InputError, match=r"t.csv line 2: keys 'loss' and 'val_loss' both name"):
        import_runs(src)
    rows = import_runs(src, columns={"loss": "val_loss"}).rows
    assert rows == ({"params": 10.0, "tokens": 20.0, "loss": 3.0},)  # the train loss is dropped


def test_run_id_prefers_id_over_name(tmp_path: Path) -> None:
    src = _write(tmp_path / "t.csv", "Name,ID,params,tokens,loss\nnice,x1,10,20,3\n")
    assert import_runs(src).rows == (
        {"run": "x1", "params": 10.0, "tokens": 20.0, "loss": 3.0, "Name": "nice"},
    )


def test_loss_unit_bits_converts_to_nats(tmp_path: Path) -> None:
    src = _write(tmp_path / "t.csv", "params,tokens,loss,teacher_loss\n10,20,2,1\n")
    row = import_runs(src, loss_unit="bits").rows[0]
    assert row["loss"] == pytest.approx(2 * math.log(2)) and row["teacher_loss"] == pytest.approx(
        math.log(2)
    )


def test_round_trip_chinchilla_csv_jsonl_csv(tmp_path: Path) -> None:
    first = import_runs(CHINCHILLA)
    assert len(first) == 245
    first.write(tmp_path / "a.jsonl")
    second = import_runs(tmp_path / "a.jsonl")
    second.write(tmp_path / "b.csv")
    third = import_runs(tmp_path / "b.csv")
    assert first.rows == second.rows == third.rows
    assert first.columns == third.columns == ("params", "tokens", "loss", "flops", "outlier")
    # and the written table is what `distillscale fit` reads: same canonical data, same digest
    assert read_runs(tmp_path / "b.csv").sha256 == read_runs(CHINCHILLA).sha256


def test_fit_reads_the_imported_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "wandb_runs.csv", "")
    lines = ["Name,State,model_size,tokens_seen,val_loss"]
    for i, (n, d) in enumerate([(n, d) for n in (1e7, 3e7, 1e8) for d in (1e9, 3e9, 1e10)]):
        loss = 1.8 + 400 / n**0.34 + 2000 / d**0.37
        lines.append(f"r{i},finished,{n:g},{d:g},{loss!r}")
    _write(src, "\n".join(lines) + "\n")
    out = tmp_path / "runs.csv"
    assert main(["runs", "import", str(src), "-o", str(out)]) == 0
    assert "wrote 9 rows" in capsys.readouterr().err
    assert main(["fit", str(out), "--law", "chinchilla", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_points"] == 9 and doc["params"]["E"] == pytest.approx(1.8, rel=0.05)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("params,tokens,loss\n10,20,3\n10,abc,3\n",
         "t.csv line 3, key 'tokens': 'abc' is not a number"),
        ("n_params,tokens,loss\n10,20,3\n\n-5,20,3\n",
         "t.csv line 4, key 'n_params' (params): -5 is not allowed; params must be > 0"),
        ("params,tokens\n10,20\n", "t.csv line 2: no value for required column(s) loss"),
        ("params,tokens,loss\n10,20,3,4\n", "t.csv line 2: 4 fields but the header has 3"),
        ("params,params,loss\n10,20,3\n", "t.csv line 1: duplicate column names 'params'"),
        ("params,tokens,loss,kind\n10,20,3,teachr\n",
         "t.csv line 2, key 'kind': 'teachr' is not one of teacher, student, baseline"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    src = _write(tmp_path / "t.csv", text)
    out = tmp_path / "out.csv"
    assert main(["runs", "import", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err and not out.exists()


def test_jsonl_refusals_name_the_line(tmp_path: Path) -> None:
    src = _write(tmp_path / "t.jsonl", '{"params": 1, "tokens": 2, "loss": 3}\n{"params": 1,\n')
    with pytest.raises(InputError, match=r"t.jsonl line 2: not valid JSON"):
        import_runs(src)
    src = _write(tmp_path / "u.jsonl", '{"params": 1, "tokens": 2, "loss": 3, "loss": 4}\n')
    with pytest.raises(InputError, match=r"u.jsonl line 1: key 'loss' appears twice"):
        import_runs(src)


def test_drop_invalid_counts_rows(tmp_path: Path) -> None:
    src = _write(tmp_path / "t.csv", "params,tokens,loss\n10,20,3\n10,20,-1\n10,20,nan\n")
    result = import_runs(src, drop_invalid=True)
    assert len(result) == 1 and result.dropped == 2


def test_map_names_a_missing_key(tmp_path: Path) -> None:
    src = _write(tmp_path / "t.csv", "p,tokens,loss\n10,20,3\n")
    with pytest.raises(
        InputError,
        match=r"t.csv line 2: no key 'q' for column 'params'; keys present: p, tokens, loss; "
        r"check columns=\{'params': 'q'\}$",
    ) as info:
        import_runs(src, columns={"params": "q"})
    assert cli_message(info.value).endswith("keys present: p, tokens, loss; check --map params=q")
    assert import_runs(src, columns={"params": "p"}).rows[0]["params"] == 10.0


def test_multipowerlaw_curves_last_step_per_run(tmp_path: Path) -> None:
    curves = example_data.path("loss_curves")  # installed with the package
    result = import_runs(curves, required=("params", "loss"), last="run")
    runs = {row["run"] for row in result.rows}
    assert len(result) == len(runs) and result.read > 6000
    by_run = {}
    for row in import_runs(curves, required=("params", "loss")).rows:
        if row["step"] >= by_run.get(row["run"], {"step": -1})["step"]:
            by_run[row["run"]] = row
    assert list(result.rows) == [r for r in by_run.values()]
    assert {row["params"] for row in result.rows} <= {25e6, 100e6, 400e6}


def test_public_api_name() -> None:
    import distillscale

    assert distillscale.import_runs is import_runs


def test_cli_import_needs_no_pandas(tmp_path: Path) -> None:
    """`runs import` with selection runs without loading pandas (nor scipy)."""
    import subprocess
    import sys

    src = _write(tmp_path / "t.csv", "run,step,n_params,tokens,loss\na,1,10,20,3\na,2,10,40,2.5\n")
    probe = (
        "import sys; from distillscale.cli import main; "
        f"code = main(['runs', 'import', {str(src)!r}, '--last-per', 'run', '--best-per', "
        f"'params', '--map', 'params=n_params', '-o', {str(tmp_path / 'o.csv')!r}]); "
        "print(code, sorted(m for m in ('pandas', 'scipy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.stdout.split("\n")[-2] == "0 []", done.stderr
    assert import_runs(tmp_path / "o.csv").rows == (
        {"run": "a", "params": 10.0, "tokens": 40.0, "loss": 2.5, "step": 2.0},)  # fmt: skip


def test_cli_format_names_match_the_importer() -> None:
    from distillscale.cli.runs_cmd import ImportFormat
    from distillscale.runs_import import FORMATS

    assert tuple(f.value for f in ImportFormat) == FORMATS
