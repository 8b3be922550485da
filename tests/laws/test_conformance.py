"""Properties every law must have: grid inside bounds, vectorised shapes, analytic Jacobian equal
to finite differences, finite values over the whole start grid at data ranges and extremes."""

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.laws import LAWS, get_law

from ._helpers import finite_difference_jacobian

N_POINTS = 6


def inputs(name: str, extreme: bool = False) -> dict[str, np.ndarray]:
    """Inputs across (or beyond) the data range each law is fitted on."""
    hi_n, hi_d = (1e12, 1e17) if extreme else (1e10, 1e12)
    params = np.geomspace(1e7, hi_n, N_POINTS)
    tokens = np.geomspace(1e8, hi_d, N_POINTS)[::-1]
    x = {"params": params, "tokens": tokens}
    if name == "distillation":
        x["teacher_loss"] = np.linspace(1.5, 4.0, N_POINTS)
        x["supervised_loss"] = np.linspace(3.5, 2.0, N_POINTS)
    if name == "downstream":
        x = {"loss": np.linspace(2.0, 6.0, N_POINTS)}
    return x


def interior_theta(law, n_sets: int, seed: int) -> np.ndarray:
    """Random parameter sets drawn from the start grid's span (inside the bounds)."""
    rng = np.random.default_rng(seed)
    grid = law.start_grid()
    lo, hi = grid.min(axis=0), grid.max(axis=0)
    theta = rng.uniform(lo, hi, size=(n_sets, len(law.parameters)))
    return theta


@pytest.mark.parametrize("name", list(LAWS))
def test_start_grid_lies_within_bounds(name):
    law = get_law(name)
    grid = law.start_grid()
    assert grid.shape[1] == len(law.parameters) == len(law.param_names)
    assert np.all(grid >= law.lower) and np.all(grid <= law.upper)
    assert np.all(law.lower < law.upper)


@pytest.mark.parametrize("name", list(LAWS))
def test_log_predict_is_vectorised_over_sets_and_points(name):
    law = get_law(name)
    theta = interior_theta(law, 4, seed=1)
    x = inputs(name)
    out = law.log_predict(theta, x)
    assert out.shape == (4, N_POINTS)
    for s in range(4):
        np.testing.assert_allclose(law.log_predict(theta[s : s + 1], x)[0], out[s], rtol=1e-13)
    one = {k: v[2:3] for k, v in x.items()}
    np.testing.assert_allclose(law.log_predict(theta, one)[:, 0], out[:, 2], rtol=1e-13)


@pytest.mark.parametrize("name", list(LAWS))
def test_gradient_matches_finite_differences(name):
    law = get_law(name)
    x = inputs(name)
    theta = interior_theta(law, 16, seed=2)
    value, jac = law.log_predict_grad(theta, x)
    assert jac.shape == (16, N_POINTS, len(law.parameters))
    np.testing.assert_allclose(value, law.log_predict(theta, x), rtol=1e-13)
    fd = finite_difference_jacobian(law, theta, x, h=1e-6)
    np.testing.assert_allclose(jac, fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(LAWS))
@pytest.mark.parametrize("extreme", [False, True])
def test_finite_over_whole_start_grid(name, extreme):
    law = get_law(name)
    grid = law.start_grid()
    x = inputs(name, extreme)
    value, jac = law.log_predict_grad(grid, x)
    assert np.all(np.isfinite(value))
    assert np.all(np.isfinite(jac))


@pytest.mark.parametrize("name", list(LAWS))
def test_predict_broadcasts_and_round_trips_parameters(name):
    law = get_law(name)
    theta = interior_theta(law, 1, seed=3)[0]
    values = law.from_fitting(theta)
    np.testing.assert_allclose(law.to_fitting(values), theta, rtol=1e-12, atol=1e-12)
    x = inputs(name)
    grid_x = {k: v.reshape(2, 3) for k, v in x.items()}
    got = law.predict(values, **grid_x)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got.ravel(), np.exp(law.log_predict(theta[None], x)[0]))


def test_unknown_law_names_the_choices():
    with pytest.raises(InputError, match="chinchilla-gamma"):
        get_law("chinchila")


def test_predict_without_an_input_is_input_error():
    law = get_law("distillation")
    values = law.from_fitting(interior_theta(law, 1, seed=4)[0])
    with pytest.raises(InputError, match="supervised_loss"):
        law.predict(values, params=1e9, tokens=2e10, teacher_loss=2.0)
