"""The Huber objective and the minimisers: gradients, weights, bounds, agreement with SciPy."""

from __future__ import annotations

import numpy as np
import pytest

import distillscale as ds
from distillscale.fitting.huber_mle import huber_log_z, nll
from distillscale.fitting.objective import Problem, huber, values, values_grads
from distillscale.fitting.optimise import lm_minimise, polish
from distillscale.laws import LAWS

from ._synth import TRUTH, synthetic_table


def _problem(law: str, n: int = 30, noise: float = 0.01) -> Problem:
    frame = synthetic_table(law, n, noise=noise, seed=1)
    obj = LAWS[law]
    x = {k: frame[k].to_numpy(float) for k in obj.inputs}
    if obj.derived_inputs:
        x["supervised_loss"] = ds.load_fit("@busbridge2025-supervised").predict(
            params=x["params"], tokens=x["tokens"]
        )
    return Problem(law=obj, x=x, log_y=np.log(frame[obj.output].to_numpy(float)), delta=1e-3)


def test_huber_values() -> None:
    r = np.array([-0.01, -1e-3, 0.0, 5e-4, 0.02])
    np.testing.assert_allclose(
        huber(r, 1e-3), [1e-3 * (0.01 - 5e-4), 5e-7, 0.0, 1.25e-7, 1e-3 * (0.02 - 5e-4)]
    )


@pytest.mark.parametrize("law", list(LAWS))
def test_gradient_matches_finite_differences(law: str) -> None:
    problem = _problem(law)
    theta = problem.law.to_fitting(ds.load_fit(TRUTH[law]).params)[None, :]
    theta = theta + 0.01 * np.random.default_rng(0).standard_normal(theta.shape)
    f, g = values_grads(problem, theta)
    h = 1e-6
    fd = [
        (values(problem, theta + h * e)[0] - values(problem, theta - h * e)[0]) / (2 * h)
        for e in np.eye(theta.shape[1])[:, None, :]
    ]
    np.testing.assert_allclose(g[0], fd, rtol=1e-4, atol=1e-9)
    assert f[0] == pytest.approx(values(problem, theta)[0])


def test_weights_equal_duplicated_rows() -> None:
    problem = _problem("chinchilla")
    counts = np.random.default_rng(3).integers(0, 3, problem.n_points).astype(float)
    dup = problem.subset(np.repeat(np.arange(problem.n_points), counts.astype(int)))
    theta = problem.law.start_grid()[:50]
    np.testing.assert_allclose(values(problem, theta, counts), values(dup, theta), rtol=1e-12)


def test_lm_respects_bounds_and_agrees_with_lbfgsb() -> None:
    problem = _problem("chinchilla")
    law = problem.law
    free = np.ones(5, dtype=bool)
    starts = law.start_grid()[::97]
    opt = lm_minimise(problem, starts, lower=law.lower, upper=law.upper, free=free, max_iter=300)
    assert np.all(opt.theta >= law.lower) and np.all(opt.theta <= law.upper)
    best = int(np.argmin(opt.f))
    theta, f, ok = polish(problem, opt.theta[best], lower=law.lower, upper=law.upper, free=free)
    assert ok and f <= opt.f[best]
    assert f == pytest.approx(opt.f[best], rel=1e-6)


def test_fixed_parameters_do_not_move() -> None:
    problem = _problem("chinchilla")
    law = problem.law
    free = np.array([False, True, True, True, False])
    starts = law.start_grid()[::301]
    opt = lm_minimise(problem, starts, lower=law.lower, upper=law.upper, free=free, max_iter=20)
    np.testing.assert_array_equal(opt.theta[:, ~free], starts[:, ~free])


def test_huber_log_normaliser_integrates_to_one() -> None:
    from scipy.integrate import quad

    for delta in (1e-3, 0.5, 2.0):
        core = quad(lambda x: np.exp(-0.5 * x * x), -delta, delta)[0]
        tail = quad(lambda x, d=delta: np.exp(-d * (x - d / 2)), delta, np.inf)[0]
        assert np.log(core + 2 * tail) == pytest.approx(huber_log_z(delta), rel=1e-6)


def test_nll_gradient_matches_finite_differences() -> None:
    problem = _problem("chinchilla")
    theta = problem.law.to_fitting(ds.load_fit("@besiroglu2024").params)
    sigma = -6.0
    _, grad, g_sigma = nll(problem, theta, sigma)
    h = 1e-7
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        fd = (nll(problem, theta + e, sigma)[0] - nll(problem, theta - e, sigma)[0]) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-4, abs=1e-6)
    fd_s = (nll(problem, theta, sigma + h)[0] - nll(problem, theta, sigma - h)[0]) / (2 * h)
    assert g_sigma == pytest.approx(fd_s, rel=1e-5)
