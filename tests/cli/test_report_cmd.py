from __future__ import annotations

from pathlib import Path

import pytest

from distillscale.cli import main

RUNS = """run,kind,params,tokens,flops,loss,status,wall_seconds
t-small,teacher,1.0e7,2.0e8,1.2e16,3.9,done,12
t-big,teacher,4.0e7,8.0e8,1.92e17,3.4,done,40
t-bad,teacher,8.0e7,1.6e9,,,failed,3
"""


@pytest.fixture
def study(tmp_path: Path) -> Path:
    (tmp_path / "runs.csv").write_text(RUNS)
    return tmp_path


def test_report_writes_index_and_says_where(study: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(study)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    index = study / "report" / "index.html"
    assert f"report written: {index}" in err.replace("\n", "")
    assert "1 figures: supervised" in err.replace("\n", "")
    text = index.read_text()
    assert "ledger.json is missing" in text and "t-bad" in text
    assert (study / "report" / "supervised.svg").is_file()


def test_open_path_prints_only_the_path(study: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(study), "--open-path"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{(study / 'report' / 'index.html').resolve()}\n"
    assert err == ""


def test_missing_directory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nope"
    assert main(["report", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "study directory" in err and "nope" in err and "distillscale run" in err
    assert "Traceback" not in err
    assert not missing.exists()


def test_file_instead_of_directory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "runs.csv"
    target.write_text(RUNS)
    assert main(["report", str(target)]) == 2
    assert "found a file" in capsys.readouterr().err


def test_unwritable_report_is_exit_2(study: Path, capsys: pytest.CaptureFixture) -> None:
    (study / "report").write_text("not a folder")
    assert main(["report", str(study)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "cannot write the report" in err and "Traceback" not in err
