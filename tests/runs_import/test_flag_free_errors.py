"""runs_import errors name Python arguments; the command line words them as flags (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.runs_import import import_runs
from wording import assert_worded


@pytest.mark.parametrize(
    ("content", "kwargs", "python", "cli"),
    [
        ("params,tokens,loss\n1,2,3\n", {"fmt": "xls"}, "fmt='xls': unknown", "--format 'xls': "),
        (
            "params,tokens,loss\n1,2,3\n",
            {"required": "nope"},
            "required='nope': not a",
            "--require",
        ),
        ("params,tokens,loss\n1,2,3\n", {"last": ","}, "last=',': give one or more", "--last-per:"),
        ("params,tokens,loss\n1,2,3\n", {"best": ","}, "best=',': give one or more", "--best-per:"),
        (
            "params,tokens,loss\n1,2,3\n",
            {"columns": {"nope": "x"}},
            "columns={'nope': 'x'}: 'nope' is not a canonical column",
            "--map nope=x: 'nope' is not a canonical column",
        ),
        (
            "params,tokens,loss\n1,2,3\n",
            {"columns": {"loss": "val_loss"}},
            "columns={'loss': 'val_loss'}",
            "--map loss=val_loss",
        ),
        (
            "p,tokens,loss\n1,2,3\n",
            {},
            "name the source key with columns={'params': '<key>'} (or drop the requirement "
            "with required=)",
            "name the source key with --map params=<key> (or drop the requirement with --require)",
        ),
        (
            "params,n_params,tokens,loss\n1,1,2,3\n",
            {},
            "choose one with columns={'params': 'n_params'}",
            "choose one with --map params=n_params",
        ),
        (
            "params,tokens,loss\n1,2,-3\n",
            {},
            "give loss_unit='bits' or 'bpb'",
            "pass --loss-unit bits or bpb",
        ),
        (
            "params,tokens,loss,step\n1,2,3,5\n",
            {"last": "run"},
            "map one with columns={'run': '<key>'}",
            "map one with --map run=<key>",
        ),
    ],
)
def test_import_error_names_no_flag_and_the_cli_does(
    tmp_path: Path, content: str, kwargs: dict[str, object], python: str, cli: str
) -> None:
    src = tmp_path / "t.csv"
    src.write_text(content)
    with pytest.raises(InputError) as info:
        import_runs(src, **kwargs)  # type: ignore[arg-type]
    assert_worded(info.value, python, cli)


def test_an_unknown_suffix_names_fmt_and_the_cli_format(tmp_path: Path) -> None:
    src = tmp_path / "t.xyz"
    src.write_text("x")
    with pytest.raises(InputError, match=r"give fmt= \(csv") as info:
        import_runs(src)
    assert "; pass --format (csv" in cli_message(info.value)
