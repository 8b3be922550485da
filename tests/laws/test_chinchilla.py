import numpy as np
import pytest

from distillscale.laws import get_law

from ._helpers import finite_difference_jacobian

HOFFMANN_ROUNDED = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def test_hoffmann_rounded_chinchilla_point():
    # docs/references.md: Chinchilla sanity value, computed from the rounded App. D.2 coefficients.
    law = get_law("chinchilla")
    assert law.predict(HOFFMANN_ROUNDED, params=70e9, tokens=1.4e12) == pytest.approx(
        1.9366, abs=1e-4
    )


def test_matches_direct_formula_and_broadcasts():
    law = get_law("chinchilla")
    n = np.array([[1e8], [1e10]])
    d = np.array([1e9, 1e11, 1e13])
    got = law.predict(HOFFMANN_ROUNDED, params=n, tokens=d)
    p = HOFFMANN_ROUNDED
    want = p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_start_grid_is_hoffmann_grid():
    grid = get_law("chinchilla").start_grid()
    assert grid.shape == (4500, 5)
    assert sorted(set(grid[:, 1])) == [0, 5, 10, 15, 20, 25]


def test_gradient_matches_finite_differences():
    law = get_law("chinchilla")
    rng = np.random.default_rng(0)
    theta = np.column_stack(
        [
            rng.uniform(-1, 1, 7),
            rng.uniform(0, 10, 7),
            rng.uniform(0, 10, 7),
            rng.uniform(0.1, 1, 7),
            rng.uniform(0.1, 1, 7),
        ]
    )
    x = {"params": np.geomspace(1e7, 1e11, 9), "tokens": np.geomspace(1e8, 1e13, 9)}
    value, jac = law.log_predict_grad(theta, x)
    np.testing.assert_allclose(value, law.log_predict(theta, x))
    np.testing.assert_allclose(jac, finite_difference_jacobian(law, theta, x), atol=1e-7)
