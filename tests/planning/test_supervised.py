from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillscale.errors import InputError
from distillscale.fitting import load_fit
from distillscale.planning import cheapest_for_loss, chinchilla_optimum, compute_optimal
from distillscale.planning.fits import surfaces
from distillscale.planning.surfaces import SupervisedSurface, flops_convention

from ._reference import make_supervised, sup_loss

CHINCHILLA_C = 6 * 70e9 * 1.4e12  # 5.88e23 FLOPs


def _sup(name: str):
    return surfaces(load_fit(name), distillation=False).supervised


def _numerical_twin(s: SupervisedSurface, flops: str = "6nd") -> SupervisedSurface:
    """Same law under a name without a closed form, to force the numerical solver."""
    return SupervisedSurface(
        law="custom", params=s.params, loss_fn=s.loss_fn, flops=flops_convention(flops)
    )


@pytest.mark.parametrize(
    ("name", "ratio"),
    [("@besiroglu2024", 18.33), ("@hoffmann2022", 59.0), ("@hoffmann2022-rounded", 92.8)],
)
def test_closed_form_tokens_per_param_at_chinchilla_compute(name, ratio):
    # docs/references.md: Chinchilla "Computed directly with a = beta/(alpha+beta) at C = 5.88e23".
    opt = compute_optimal(_sup(name), CHINCHILLA_C)
    assert opt.method == "closed-form"
    assert opt.tokens_per_param == pytest.approx(ratio, abs=0.06)
    assert 6 * opt.params * opt.tokens == pytest.approx(CHINCHILLA_C, rel=1e-12)


def test_closed_form_formula_matches_hand_computation():
    p = {"A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    n, d = chinchilla_optimum(p, 1e24)
    g = (0.34 * 406.4 / (0.28 * 410.7)) ** (1 / 0.62)
    assert n == pytest.approx(g * (1e24 / 6) ** (0.28 / 0.62), rel=1e-12)
    assert d == pytest.approx(1e24 / (6 * n), rel=1e-12)


@pytest.mark.parametrize("compute", [1e18, 5.88e23, 1e27])
def test_numerical_solver_reproduces_closed_form(compute):
    s = _sup("@besiroglu2024")
    closed = compute_optimal(s, compute)
    numeric = compute_optimal(_numerical_twin(s), compute)
    assert numeric.method == "numerical"
    assert numeric.params == pytest.approx(closed.params, rel=1e-4)
    assert numeric.loss == pytest.approx(closed.loss, abs=1e-10)


def test_gamma_does_not_move_the_6nd_optimum():
    # E + X^gamma is monotone in X, so chinchilla-gamma's 6ND optimum is Chinchilla's formula.
    s = make_supervised(flops_convention("6nd"))
    closed = compute_optimal(s, 1e22)
    numeric = compute_optimal(_numerical_twin(s), 1e22)
    assert closed.method == "closed-form"
    assert numeric.params == pytest.approx(closed.params, rel=1e-4)


def test_busbridge_convention_optimum_is_stationary(busbridge_sup):
    c = 1e22
    opt = compute_optimal(busbridge_sup, c)
    assert opt.method == "numerical"
    train = busbridge_sup.flops.train
    assert float(train(opt.params)) * opt.tokens == pytest.approx(c, rel=1e-9)
    for f in (0.97, 1.03):
        n = opt.params * f
        assert sup_loss(n, c / float(train(n))) > opt.loss
    # compute-optimal Busbridge students sit near their M ~ 20 fixed-M protocol
    assert 10 < opt.tokens_per_param < 25


budgets = st.floats(min_value=17.0, max_value=27.0)


@settings(max_examples=25, deadline=None)
@given(a=budgets, b=budgets)
def test_more_compute_never_gives_a_worse_optimum(a, b):
    lo, hi = sorted((10**a, 10**b))
    for s in (make_supervised(), _sup("@besiroglu2024")):
        assert compute_optimal(s, hi).loss <= compute_optimal(s, lo).loss + 1e-12


@settings(max_examples=15, deadline=None)
@given(exponent=budgets)
def test_optimum_not_beaten_by_dense_grid(exponent):
    c = 10**exponent
    s = make_supervised()
    opt = compute_optimal(s, c)
    n = np.logspace(6, 17, 20001)
    d = c / s.flops.train(n)
    ok = (d >= 1e6) & (d <= 1e17)
    grid_best = float(np.min(sup_loss(n[ok], d[ok])))
    assert opt.loss <= grid_best + 1e-9


def test_cheapest_model_for_a_loss_is_the_compute_optimal_one(busbridge_sup):
    opt = compute_optimal(busbridge_sup, 1e22)
    cheap = cheapest_for_loss(busbridge_sup, opt.loss)
    assert cheap.compute == pytest.approx(1e22, rel=1e-4)
    assert cheap.params == pytest.approx(opt.params, rel=2e-2)
    assert cheap.loss == pytest.approx(opt.loss, abs=1e-9)


def test_inference_aware_optimum_is_smaller_and_longer_trained():
    # Sardana et al. 2024 (abstract): with large inference demand, train smaller models longer.
    s = _sup("@hoffmann2022")
    target = 2.0
    base = cheapest_for_loss(s, target)
    aware = cheapest_for_loss(s, target, inference_tokens=2e12)
    assert aware.params < base.params
    assert aware.tokens_per_param > base.tokens_per_param
    assert aware.inference_flops == pytest.approx(2 * aware.params * 2e12, rel=1e-12)
    base_total = base.compute + 2 * base.params * 2e12
    assert aware.compute + aware.inference_flops < base_total
    assert aware.loss == pytest.approx(target, abs=1e-9)


@pytest.mark.parametrize("bad", [-1.0, 0.0, math.nan, math.inf, 1e40, 1.0])
def test_bad_budgets_are_input_errors(bad, busbridge_sup):
    with pytest.raises(InputError, match="compute="):
        compute_optimal(busbridge_sup, bad)


def test_target_below_floor_is_an_input_error(busbridge_sup):
    with pytest.raises(InputError, match="floor E"):
        cheapest_for_loss(busbridge_sup, 1.1)
    with pytest.raises(InputError, match="floor E"):
        cheapest_for_loss(busbridge_sup, 1.22)
    with pytest.raises(InputError, match="inference_tokens="):
        cheapest_for_loss(busbridge_sup, 2.0, inference_tokens=-5)


def test_closed_form_token_inverse_matches_bisection(busbridge_sup):
    from distillscale.planning.supervised import tokens_for_loss

    n = np.logspace(7, 12, 11)
    closed = tokens_for_loss(busbridge_sup, n, 2.1)
    bisected = tokens_for_loss(_numerical_twin(busbridge_sup, "busbridge"), n, 2.1)
    finite = np.isfinite(bisected)
    assert np.array_equal(finite, np.isfinite(closed))
    assert finite.sum() >= 5
    assert np.allclose(closed[finite], bisected[finite], rtol=1e-9)
    assert np.allclose(sup_loss(n[finite], closed[finite]), 2.1, atol=1e-12)
