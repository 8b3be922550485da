"""Library errors name Python arguments; the command line words them as flags (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import distillscale as ds
from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.fitting.plot import check_plot_target
from wording import assert_worded

from ._synth import synthetic_table

FRAME = synthetic_table("chinchilla", 12, seed=1)


def _fit(**kwargs: object) -> Callable[[], object]:
    return lambda: ds.fit(FRAME, "chinchilla", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "python", "cli"),
    [
        (_fit(bootstrap=-1), "bootstrap=-1: must be >= 0", "--bootstrap -1: must be >= 0"),
        (_fit(bootstrap=1), "bootstrap=1: need at least 2", "--bootstrap 1: need at least 2"),
        (_fit(bootstrap=3, seed=-1), "seed=-1: must be an integer", "--seed -1: must be an"),
        (_fit(bootstrap=3, ci=1.5), "ci=1.5: must be in (0, 1)", "--ci 1.5: must be in (0, 1)"),
        (_fit(estimator="nope"), "estimator='nope': unknown", "--estimator 'nope': unknown"),
        (_fit(delta=-1.0), "delta=-1.0: must be a positive", "--delta -1.0: must be a positive"),
        (_fit(fixed={"X": 1}), "fixed={'X': ...}: law 'chinchilla'", "--fix X=...: law"),
        (_fit(fixed={"E": "a"}), "fixed={'E': 'a'}: not a number", "--fix E='a': not a number"),
        (
            _fit(supervised="@busbridge2025-supervised"),
            "supervised= is only for the distillation law",
            "--supervised is only for the distillation law",
        ),
        (
            _fit(train_where="params > 0"),
            "give both train_where= and test_where=, or neither",
            "give both --train-where and --test-where, or neither",
        ),
        (
            lambda: ds.fit(FRAME.head(3), "chinchilla"),
            "widen where=, or hold parameters with fixed={NAME: VALUE}",
            "widen --where, or hold parameters with --fix",
        ),
        (
            lambda: ds.fit(synthetic_table("distillation", 12, seed=1), "distillation"),
            "give supervised=Fit|'FIT.json'|'@busbridge2025-supervised'",
            "give --supervised FIT.json|@busbridge2025-supervised",
        ),
        (lambda: check_plot_target("a.txt"), "path='a.txt': the format", "--plot 'a.txt': the"),
    ],
)
def test_library_error_names_no_flag_and_the_cli_does(
    call: Callable[[], object], python: str, cli: str
) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert_worded(info.value, python, cli)


def test_a_missing_plot_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        check_plot_target(tmp_path / "no" / "a.png")
    assert str(info.value).startswith(f"path='{tmp_path / 'no' / 'a.png'}': folder")
    assert cli_message(info.value).startswith(f"--plot {tmp_path / 'no' / 'a.png'}: folder")
