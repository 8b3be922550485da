"""Reproduce Besiroglu et al. 2024 on the 240 Chinchilla points (docs/references.md: Chinchilla)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import distillscale as ds

DATA = Path(__file__).resolve().parents[2] / "examples/data/chinchilla.csv"


@pytest.fixture(scope="module")
def grid_fit() -> ds.Fit:
    # params count ALL parameters here (Hoffmann et al.), as the coefficients do.
    return ds.fit(DATA, "chinchilla", where="outlier == 0")


def test_huber_grid_reproduces_epoch_replication(grid_fit: ds.Fit) -> None:
    assert grid_fit.n_points == 240
    assert grid_fit.estimator == "huber-grid"
    assert grid_fit.delta == 1e-3
    # Epoch's own L-BFGS-B grid reached 0.0010182740346; tight tolerances 0.0010182740178.
    assert grid_fit.objective <= 0.00101827402
    p = grid_fit.params
    assert p["A"] == pytest.approx(477.84, rel=1e-3)
    assert p["B"] == pytest.approx(2143.9, rel=1e-3)
    assert p["E"] == pytest.approx(1.8172, rel=1e-4)
    assert p["alpha"] == pytest.approx(0.34731, rel=1e-4)
    assert p["beta"] == pytest.approx(0.36718, rel=1e-4)
    assert grid_fit.diagnostics.converged
    assert grid_fit.diagnostics.at_bound == ()


def test_huber_mle_reproduces_epoch_headline() -> None:
    f = ds.fit(DATA, "chinchilla", estimator="huber-mle", where="outlier == 0")
    p = f.params
    assert p["A"] == pytest.approx(482.01, rel=1e-4)
    assert p["B"] == pytest.approx(2085.43, rel=1e-4)
    assert p["E"] == pytest.approx(1.8169, rel=1e-4)
    assert p["alpha"] == pytest.approx(0.34781, rel=1e-4)
    assert p["beta"] == pytest.approx(0.36585, rel=1e-4)
    # s = delta * mean |r| at the optimum (docs/references.md: Chinchilla): log s = -12.2666.
    assert np.log(f.scale) == pytest.approx(-12.2666, abs=1e-3)
    assert f.diagnostics.converged


def test_huber_mle_nll_matches_epoch() -> None:
    from distillscale.fitting import HuberMLE

    est = HuberMLE("chinchilla").fit(ds.read_runs(DATA, where="outlier == 0"))
    assert est.nll_ == pytest.approx(-879.7731, abs=1e-3)


def test_grid_beats_or_equals_per_start_lbfgsb_from_best_grid_points(grid_fit: ds.Fit) -> None:
    """SciPy L-BFGS-B from the 10 grid points nearest the optimum never does better."""
    from scipy.optimize import minimize

    from distillscale.fitting.objective import values_grads
    from distillscale.fitting.optimise import serial_blas
    from distillscale.fitting.prepare import prepare

    table = ds.read_runs(DATA, where="outlier == 0")
    prep = prepare(table, law="chinchilla", delta=None, fixed=None, supervised=None)
    law = prep.law
    grid = law.start_grid()
    opt = law.to_fitting(grid_fit.params)
    near = grid[np.argsort(np.abs((grid - opt) / np.array([1, 5, 5, 0.5, 0.5])).sum(1))[:10]]

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = values_grads(prep.problem, z[None])
        return float(f[0]), g[0]

    bounds = list(zip(law.lower, law.upper, strict=True))
    with serial_blas():
        best = min(minimize(fun, s, jac=True, method="L-BFGS-B", bounds=bounds).fun for s in near)
    assert grid_fit.objective <= best + 1e-15


def test_huber_grid_on_all_245_points() -> None:
    # docs/references.md: Chinchilla (computed): keeping the 5 outliers, B becomes poorly
    # identified.
    f = ds.fit(DATA, "chinchilla")
    assert f.n_points == 245
    p = f.params
    assert p["A"] == pytest.approx(495.73, rel=1e-3)
    assert p["B"] == pytest.approx(12845.6, rel=1e-3)
    assert p["E"] == pytest.approx(1.8913, rel=1e-4)
    assert p["alpha"] == pytest.approx(0.3493, rel=1e-3)
    assert p["beta"] == pytest.approx(0.4530, rel=1e-3)
