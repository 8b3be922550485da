import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from distillscale.cli import app, main
from distillscale.study.store import RUN_TABLE_COLUMNS, RunOutcome, RunSpecRecord, open_store


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "runs.sqlite"
    with open_store(path) as store:
        store.register(
            RunSpecRecord(
                run_id="t", kind="teacher", config='{"d": 3}', study="a", params=1000, tokens=20000
            )
        )
        store.register(
            RunSpecRecord(
                run_id="s",
                kind="student",
                config="{}",
                study="a",
                params=100,
                tokens=4000,
                teacher_run_id="t",
            )
        )
        store.register(
            RunSpecRecord(
                run_id="x", kind="baseline", config="{}", study="b", params=100, tokens=4000
            )
        )
        for run_id, loss in (("t", 2.0), ("s", 2.5)):
            assert store.claim(run_id, "w", 60)
            assert store.complete(run_id, "w", RunOutcome(loss=loss))
    return path


def test_list_json(store_path):
    result = CliRunner().invoke(app, ["runs", "list", "--store", str(store_path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["store"].endswith("runs.sqlite")
    assert {r["run_id"]: r["status"] for r in doc["runs"]} == {
        "t": "done",
        "s": "done",
        "x": "pending",
    }
    assert next(r for r in doc["runs"] if r["run_id"] == "t")["config"] == {"d": 3}
    result = CliRunner().invoke(
        app,
        ["runs", "list", "--store", str(store_path), "--study", "a", "--status", "done", "--json"],
    )
    assert {r["run_id"] for r in json.loads(result.stdout)["runs"]} == {"t", "s"}


def test_list_human_on_stderr_and_env_default(store_path, monkeypatch, capsys):
    monkeypatch.setenv("DISTILLSCALE_STORE", str(store_path))
    assert main(["runs", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2 done" in captured.err and "1 pending" in captured.err


def test_export_csv_and_parquet(store_path, tmp_path):
    csv = tmp_path / "out.csv"
    assert main(["runs", "export", "--store", str(store_path), "-o", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert tuple(table.columns) == RUN_TABLE_COLUMNS
    assert set(table["run"]) == {"t", "s"}
    assert table.set_index("run").loc["s", "teacher_loss"] == 2.0
    pq = tmp_path / "out.parquet"
    args = ["runs", "export", "--store", str(store_path), "--study", "b", "--status", "all"]
    assert main([*args, "--format", "parquet", "-o", str(pq)]) == 0
    assert list(pd.read_parquet(pq)["run"]) == ["x"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_errors_exit_2(store_path, tmp_path, capsys):
    assert main(["runs", "list", "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["runs", "export", "--store", str(store_path), "-o", str(tmp_path / "o.txt")]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["runs", "list", "--store", str(store_path), "--status", "finished"]) == 2
    assert (
        main(
            [
                "runs",
                "export",
                "--store",
                str(store_path),
                "--status",
                "x",
                "-o",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "o.csv").exists()
    url = "postgresql+psycopg://me:sup3rsecret@127.0.0.1:1/db"
    assert main(["runs", "list", "--store", url]) == 2
    err = capsys.readouterr().err
    assert "sup3rsecret" not in err and "me:***@" in err


@pytest.mark.parametrize("command", [["list"], ["export", "-o", "out.csv"]])
def test_stale_needs_a_study(store_path, tmp_path, command, capsys):
    if command[0] == "export":
        command = ["export", "-o", str(tmp_path / "out.csv")]
    assert main(["runs", *command, "--store", str(store_path), "--stale"]) == 2
    err = capsys.readouterr().err
    assert "--stale: give --study too" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def test_a_single_run_exported_reads_back_and_fits_as_supervised(tmp_path):
    # `distillscale train --store` records lone runs as kind `single`; `runs export` writes that
    # kind, and `read_runs` (so `fit`) must read it back. Before the run vocabulary was shared,
    # the table knew only teacher/student/baseline and refused the exported file.
    from distillscale.fitting.api import _SUPERVISED_KINDS
    from distillscale.runs import RunKind, phase_ledger
    from distillscale.table import read_runs

    path = tmp_path / "runs.sqlite"
    with open_store(path) as store:
        for i, (params, tokens) in enumerate([(1e4, 1e5), (2e4, 4e5), (4e4, 2e5)]):
            run_id = f"single{i}"
            store.register(
                RunSpecRecord(
                    run_id=run_id,
                    kind=RunKind.single,
                    config="{}",
                    params=int(params),
                    tokens=int(tokens),
                    flops=phase_ledger(RunKind.single, 6 * params * tokens),
                )
            )
            assert store.claim(run_id, "w", 60)
            assert store.complete(run_id, "w", RunOutcome(loss=3.0 - 0.1 * i))
    csv = tmp_path / "out.csv"
    assert main(["runs", "export", "--store", str(path), "-o", str(csv)]) == 0
    table = read_runs(csv)
    assert list(table.frame["kind"]) == ["single"] * 3
    assert list(table.frame["flops"]) == [6e9, 4.8e10, 4.8e10]
    # the supervised law's rows of a one-table distillation fit include lone runs
    assert len(read_runs(csv, where=_SUPERVISED_KINDS)) == 3
