"""Fit warnings are records: their text names Python arguments, the CLI writes flags (issue 12).

The artifact keeps ``diagnostics.warnings`` as strings (every version reads them) and adds
``diagnostics.warning_details``; an artifact without the details still loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict

import distillscale as ds
from distillscale.cli.errors import cli_warning
from distillscale.errors import InputError
from distillscale.fitting.diagnostics import diagnose
from distillscale.fitting.fit_warning import CODES, TEXT, FitWarning
from distillscale.fitting.prepare import prepare
from distillscale.fitting.result import Diagnostics, load_fit
from distillscale.table import read_runs

from ._synth import synthetic_table


@pytest.fixture(scope="module")
def bounded() -> ds.Fit:
    # truth E = 1.82: a lower bound of 1.9 holds E at the bound
    return ds.fit(synthetic_table("chinchilla", 80, seed=3), "chinchilla", bounds={"E": (1.9, 3)})


def test_a_parameter_at_its_bound_is_a_record_with_python_fixes(bounded: ds.Fit) -> None:
    (w,) = bounded.diagnostics.warnings
    assert isinstance(w, FitWarning) and (w.code, w.parameter) == ("at-bound", "E")
    assert str(w).startswith("E fitted at its lower bound 1.9 (value 1.9); its interval is")
    assert str(w).endswith(
        "unreliable: fix E (fixed={'E': VALUE}), or loosen bounds={'E': (LO, HI)} if you set one"
    )
    assert "--" not in str(w)
    assert w.hints == (("fixed", "fixed={'E': VALUE}"), ("bounds", "bounds={'E': (LO, HI)}"))
    assert cli_warning(w).endswith(
        "unreliable: fix E (--fix E=VALUE), or loosen --bound E=LO:HI if you set one"
    )
    assert "fixed={'E': VALUE}" in bounded.summary()


def test_every_warning_diagnose_writes_is_flag_free_and_its_fixes_become_flags() -> None:
    table = read_runs(synthetic_table("chinchilla", 12, seed=1))
    prep = prepare(table, law="chinchilla", delta=None, fixed=None, supervised=None)
    theta = np.asarray(prep.problem.law.to_fitting(load_fit("@besiroglu2024").params), float)
    diag, _ = diagnose(prep.problem, theta, free=prep.free, converged=False)
    poorly = ds.fit(
        ds.read_runs("examples/data/chinchilla.csv", where="outlier == 0 and params < 3e8"),
        "chinchilla-gamma",
    )
    warnings = (*diag.warnings, *poorly.diagnostics.warnings)
    assert {w.code for w in warnings} == {"not-converged", "poorly-determined"}
    for w in warnings:
        assert w.code in CODES and "--" not in str(w)
        assert w.hints and all(fragment in str(w) for _, fragment in w.hints)
        flags = cli_warning(w)
        assert "--fix " in flags and "fixed=" not in flags
    assert cli_warning(warnings[0]).endswith(
        "hold poorly determined parameters with --fix NAME=VALUE"
    )
    assert cli_warning(warnings[1]) == (
        "A is poorly determined: relative standard error 1.11; fix it (--fix A=VALUE) or add runs"
    )


def test_the_artifact_stores_texts_and_details_and_reads_them_back(bounded: ds.Fit) -> None:
    doc = bounded.to_json()
    diag = doc["diagnostics"]
    assert diag["warnings"] == [str(w) for w in bounded.diagnostics.warnings]
    assert all(isinstance(t, str) for t in diag["warnings"])
    assert diag["warning_details"] == [
        {
            "code": "at-bound",
            "parameter": "E",
            "hints": [["fixed", "fixed={'E': VALUE}"], ["bounds", "bounds={'E': (LO, HI)}"]],
        }
    ]
    again = ds.Fit.from_json(json.loads(json.dumps(doc)))
    assert again.diagnostics.warnings == bounded.diagnostics.warnings


class _OldDiagnosticsDoc(BaseModel):
    """``diagnostics`` as distillscale 0.2.0 reads it: strict, unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    converged: bool
    at_bound: list[str] = []
    warnings: list[str] = []
    condition_number: float | None = None
    poorly_determined: list[str] = []


def test_an_older_reader_still_reads_the_new_diagnostics(bounded: ds.Fit) -> None:
    old = _OldDiagnosticsDoc.model_validate(bounded.to_json()["diagnostics"])
    assert old.warnings == [str(w) for w in bounded.diagnostics.warnings]


def test_an_artifact_with_plain_string_warnings_still_loads(
    bounded: ds.Fit, tmp_path: Path
) -> None:
    doc = bounded.to_json()
    old = "E fitted at its lower bound 1.9 (value 1.9); its interval is unreliable: fix E (--fix"
    doc["diagnostics"]["warnings"] = [old + " E=VALUE), or loosen --bound E if you set one"]
    del doc["diagnostics"]["warning_details"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    (w,) = load_fit(path).diagnostics.warnings
    assert (w.code, w.parameter, w.hints) == (TEXT, None, ())
    assert str(w) == doc["diagnostics"]["warnings"][0] == cli_warning(w)


@pytest.mark.parametrize(
    "details",
    [
        "at-bound",
        [],
        [{"parameter": "E"}],
        [{"code": "at-bound", "hints": [["fixed", "not in the text"]]}],
        [{"code": "at-bound", "hints": [["fixed"]]}],
    ],
)
def test_malformed_details_name_the_file_and_the_key(
    bounded: ds.Fit, tmp_path: Path, details: Any
) -> None:
    doc = bounded.to_json()
    doc["diagnostics"]["warning_details"] = details
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=rf"{path}.*'diagnostics.warning_details"):
        load_fit(path)


def test_plain_strings_given_to_diagnostics_become_text_warnings() -> None:
    d = Diagnostics(converged=True, warnings=("check the runs",))  # type: ignore[arg-type]
    assert d.warnings == (FitWarning(TEXT, "check the runs"),)
    assert d.to_dict()["warnings"] == ["check the runs"]
