"""The distillation law: supervised fit from a published set or a kind column, held-out runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import distillscale as ds
from distillscale.errors import InputError

from ._synth import design, synthetic_table


@pytest.fixture(scope="module")
def students() -> pd.DataFrame:
    return synthetic_table("distillation", 300, noise=0.005, seed=5)


def test_extrapolates_to_lower_loss_and_names_poorly_determined(students: pd.DataFrame) -> None:
    # Busbridge et al. Fig. 1: fit on L_S > 2.3, predict the lower-loss runs within ~1%.
    fit = ds.fit(
        students,
        "distillation",
        supervised="@busbridge2025-supervised",
        fixed={
            "c1": "@busbridge2025"
        },  # c1's published CI is degenerate (docs/references.md: Busbridge)
        train_where="loss > 2.3",
        test_where="loss <= 2.3",
    )
    assert fit.delta == 1e-4
    assert fit.params["c1"] == 522.6
    errors = [abs(h.rel_error) for h in fit.holdout]
    assert len(errors) == (students["loss"] <= 2.3).sum() > 20
    assert sum(errors) / len(errors) < 0.01
    assert max(errors) < 0.025
    # The transition (c0, f1, d1) is pinned by the data; the reducible term's A, alpha, gamma
    # trade off against each other (A^gamma N^(-alpha gamma)) and are flagged.
    poor = set(fit.diagnostics.poorly_determined)
    assert {"A", "alpha", "gamma"} <= poor
    assert not poor & {"c0", "f1", "d1"}
    assert any(str(w).startswith("A is poorly determined") for w in fit.diagnostics.warnings)
    assert fit.params["d1"] == pytest.approx(1.315, rel=0.05)
    assert fit.params["f1"] == pytest.approx(0.09, rel=0.1)


def test_kind_column_fits_supervised_then_students(students: pd.DataFrame) -> None:
    teachers = synthetic_table("chinchilla-gamma", 60, noise=0.0, seed=6).assign(kind="teacher")
    table = pd.concat([teachers, students.assign(kind="student")], ignore_index=True)
    fit = ds.fit(table, "distillation", fixed={"c1": 522.6, "f1": 0.09}, bootstrap=8, seed=0)
    assert fit.n_points == 300
    sup = fit.supervised
    assert sup is not None and sup.law == "chinchilla-gamma" and sup.n_points == 60
    truth = ds.load_fit("@busbridge2025-supervised").params
    assert sup.params["alpha"] == pytest.approx(truth["alpha"], rel=1e-3)
    assert sup.params["gamma"] == pytest.approx(truth["gamma"], rel=1e-3)
    doc = fit.to_json()
    assert doc["supervised"]["law"] == "chinchilla-gamma"
    back = ds.Fit.from_json(doc)
    x = {"params": 1e9, "tokens": 2e10, "teacher_loss": 2.2}
    assert float(back.predict(**x)) == pytest.approx(float(fit.predict(**x)), rel=1e-12)
    # Both fits were bootstrapped with the same K: intervals pair resample k with resample k.
    assert sup.bootstrap_samples.shape == (8, 6) and fit.bootstrap_samples.shape == (8, 9)
    band = back.predict(params=[1e8, 1e9], tokens=2e10, teacher_loss=2.2, interval=True)
    assert np.all(band.lower <= band.upper)
    assert np.all(band.upper - band.lower < 0.05 * band.value)


def test_kind_column_with_given_supervised_fit_uses_student_rows(students: pd.DataFrame) -> None:
    teachers = synthetic_table("chinchilla-gamma", 30, noise=0.0, seed=6).assign(kind="baseline")
    table = pd.concat([teachers, students.assign(kind="student")], ignore_index=True)
    fit = ds.fit(
        table,
        "distillation",
        supervised="@busbridge2025-supervised",
        fixed={"c1": 522.6, "f1": 0.09, "d1": 1.315},
    )
    assert fit.n_points == 300
    assert fit.supervised is not None and fit.supervised.source == "@busbridge2025-supervised"


def test_supervised_must_be_a_supervised_law(students: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="not a supervised law"):
        ds.fit(students, "distillation", supervised="@busbridge2025")
    with pytest.raises(InputError, match="only for the distillation law"):
        ds.fit(students, "chinchilla", supervised="@busbridge2025-supervised")


def test_gamma_run_to_its_bound_is_flagged() -> None:
    # Students drawn with gamma = 0: the fit stalls a few thousandths above the bound (0.0034 of
    # [0, 4]), where a 1e-6 tolerance missed it; it must be listed and warned about.
    rng = np.random.default_rng(1)
    truth = ds.load_fit("@busbridge2025")
    sup = ds.load_fit("@busbridge2025-supervised")
    x = design("distillation", 120, rng)
    ltilde = sup.predict(params=x["params"], tokens=x["tokens"])
    y = truth.law_obj.predict({**truth.params, "gamma": 0.0}, **x, supervised_loss=ltilde)
    frame = pd.DataFrame({**x, "loss": y * np.exp(0.005 * rng.standard_normal(120))})
    fit = ds.fit(
        frame,
        "distillation",
        supervised="@busbridge2025-supervised",
        fixed={"c1": 522.6, "f1": 0.09},
    )
    assert 0 < fit.params["gamma"] < 0.004
    assert "gamma" in fit.diagnostics.at_bound
    assert any(
        str(w).startswith("gamma fitted at its lower bound 0") for w in fit.diagnostics.warnings
    )
    assert "at bound" in next(ln for ln in fit.summary().splitlines() if ln.startswith("  gamma"))
