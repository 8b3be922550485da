"""Run tables installed with the package: ``example:NAME`` wherever a table is read."""

from __future__ import annotations

import pytest

import distillscale
from distillscale import example_data
from distillscale.cli import main
from distillscale.errors import InputError


@pytest.mark.parametrize("name", sorted(example_data.TABLES))
def test_packaged_tables_are_installed_with_their_licence(name: str) -> None:
    path = example_data.path(name)
    assert path.is_file() and path.parent.name == "example_data"
    licences = {p.name for p in path.parent.glob("LICENSE-*.txt")}
    assert licences == {"LICENSE-Apache-2.0.txt", "LICENSE-MIT-MultiPowerLaw.txt"}


def test_example_prefix_reads_a_packaged_table() -> None:
    table = distillscale.read_runs("example:data_constrained", where="epochs == 1")
    assert table.source == "example:data_constrained"
    assert len(table.frame) > 30 and (table.frame["epochs"] == 1).all()


def test_fit_from_a_packaged_table_in_python_and_on_the_command_line(capsys) -> None:
    where = "epochs == 1 and tokens >= 1e9"
    fit = distillscale.fit("example:data_constrained", law="chinchilla", where=where)
    assert 1.0 < fit.params["E"] < 3.0
    code = main(["fit", "example:data_constrained", "--law", "chinchilla", "--where", where])
    assert code == 0 and "chinchilla: E + A/N^alpha" in capsys.readouterr().err  # text to stderr


def test_unknown_packaged_table_lists_the_available_ones(capsys) -> None:
    with pytest.raises(InputError, match="example:nope: no such packaged table; available: "):
        example_data.path("nope")
    assert main(["fit", "example:nope", "--law", "chinchilla"]) == 2
    err = capsys.readouterr().err
    assert "example:data_constrained" in err and "Traceback" not in err


def test_runs_import_reads_packaged_tables(tmp_path, capsys) -> None:
    out = tmp_path / "last.csv"
    args = ["example:loss_curves", "--require", "params,loss", "--last-per", "run"]
    code = main(["runs", "import", *args, "-o", str(out)])
    assert code == 0 and len(out.read_text().splitlines()) == 1 + 27  # one row per curve
    assert main(["runs", "import", "example:nope", "-o", str(tmp_path / "x.csv")]) == 2
    assert "no such packaged table" in capsys.readouterr().err
