from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillscale.errors import InputError
from distillscale.flops import SCENARIOS, busbridge_forward_flops
from distillscale.planning import (
    TeacherSpec,
    compute_for_loss,
    distillation_threshold,
    optimal_recipe,
)
from distillscale.planning.distill import switches

from ._reference import student_loss, sup_loss

STUDENTS = (546e6, 1.82e9, 7.75e9)


def F(n):
    return busbridge_forward_flops(n)


def recipe(surface, n_s, c, scenario, **kw):
    return optimal_recipe(surface, student_params=n_s, compute=c, scenario=scenario, **kw)


def test_switches_follow_eq9():
    assert [switches(s) for s in SCENARIOS] == [(0, 0), (1, 0), (0, 1), (1, 1)]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_budget_is_spent_exactly(busbridge_dist, scenario):
    r = recipe(busbridge_dist, 1.82e9, 1e22, scenario)
    assert r.flops.total == pytest.approx(1e22, rel=1e-9)
    assert r.student_loss == pytest.approx(
        student_loss(1.82e9, r.student_tokens, r.teacher_loss), abs=1e-12
    )
    assert r.teacher_loss == pytest.approx(sup_loss(r.teacher_params, r.teacher_tokens), abs=1e-6)
    assert r.supervised_loss == pytest.approx(sup_loss(1.82e9, 1e22 / (3 * F(1.82e9))), abs=1e-12)
    assert r.margin == pytest.approx(r.supervised_loss - r.student_loss)


@pytest.mark.parametrize("n_s", STUDENTS)
@pytest.mark.parametrize("scenario", ["teacher-pretraining", "teacher-pretraining-inference"])
def test_training_a_teacher_for_one_student_loses_to_supervised(busbridge_dist, n_s, scenario):
    # Busbridge et al. Sec. 5.3: a teacher trained for a single student -> train supervised.
    # Checked from 20 tokens/param for the student (the paper's smallest M_S) up to 1e26 FLOPs.
    lo = 3 * F(n_s) * 20 * n_s
    for c in np.geomspace(lo, 1e26, 5):
        r = recipe(busbridge_dist, n_s, float(c), scenario)
        assert r.verdict == "supervised", (n_s, c, r.margin)


def test_existing_teacher_wins_below_a_threshold_growing_with_student_size(busbridge_dist):
    # Busbridge et al. Sec. 5.3: with the teacher's cost amortised, distillation wins up to a
    # compute level that grows with N_S.
    for scenario in ("teacher-free", "teacher-inference"):
        found = []
        for n_s in STUDENTS:
            t = distillation_threshold(busbridge_dist, student_params=n_s, scenario=scenario)
            assert t.kind == "crossover"
            assert 1e20 < t.compute < 1e25
            found.append(t.compute)
            assert recipe(busbridge_dist, n_s, t.compute / 3, scenario).verdict == "distill"
            assert recipe(busbridge_dist, n_s, t.compute * 3, scenario).verdict == "supervised"
        assert found[0] < found[1] < found[2], (scenario, found)


def test_thresholds_measured_values(busbridge_dist):
    # Regression values of this planner on @busbridge2025 (reported in docs/planning.md).
    expected = {
        ("teacher-free", 546e6): 1.98e22,
        ("teacher-free", 1.82e9): 4.17e22,
        ("teacher-free", 7.75e9): 8.20e23,
        ("teacher-inference", 546e6): 2.60e21,
        ("teacher-inference", 1.82e9): 7.46e21,
        ("teacher-inference", 7.75e9): 1.00e23,
    }
    for (scenario, n_s), value in expected.items():
        t = distillation_threshold(busbridge_dist, student_params=n_s, scenario=scenario)
        assert t.compute == pytest.approx(value, rel=0.02)


@pytest.mark.parametrize("c", [1e19, 1e21, 1e23, 1e25])
def test_teacher_inference_optimal_teacher_is_overtrained(busbridge_dist, c):
    r = recipe(busbridge_dist, 1.82e9, c, "teacher-inference")
    assert r.teacher_tokens == pytest.approx(1e17, rel=1e-9)
    assert "teacher_tokens" in r.at_bound


@pytest.mark.parametrize("n_s", STUDENTS)
def test_teacher_pretraining_teacher_has_constant_tokens_per_param(busbridge_dist, n_s):
    ratios = [
        recipe(busbridge_dist, n_s, c, "teacher-pretraining").teacher_tokens
        / recipe(busbridge_dist, n_s, c, "teacher-pretraining").teacher_params
        for c in (1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25)
    ]
    assert max(ratios) / min(ratios) < 1.3, ratios
    assert 10 < np.median(ratios) < 25


def test_pretraining_inference_sits_between(busbridge_dist):
    r = recipe(busbridge_dist, 1.82e9, 1e23, "teacher-pretraining-inference")
    m = r.teacher_tokens / r.teacher_params
    m_pre = (lambda q: q.teacher_tokens / q.teacher_params)(
        recipe(busbridge_dist, 1.82e9, 1e23, "teacher-pretraining")
    )
    assert m_pre < m < 1e17 / r.teacher_params


scenarios = st.sampled_from(SCENARIOS)
sizes = st.floats(min_value=7.0, max_value=12.0)
budgets = st.floats(min_value=17.0, max_value=27.0)


@settings(max_examples=12, deadline=None)
@given(scenario=scenarios, size=sizes, a=budgets, b=budgets)
def test_more_compute_never_gives_a_worse_recipe(busbridge_dist, scenario, size, a, b):
    lo, hi = sorted((10**a, 10**b))
    n_s = 10**size
    if 3 * F(n_s) * 1e6 > lo:  # not even 1e6 student tokens
        return
    r_lo = recipe(busbridge_dist, n_s, lo, scenario)
    r_hi = recipe(busbridge_dist, n_s, hi, scenario)
    assert r_hi.student_loss <= r_lo.student_loss + 1e-7


def _grid_best(n_s, c, scenario, k=1, n=241):
    lgt, pre = switches(scenario)
    u = np.linspace(math.log(1e6), math.log(1e17), n)
    nt, dt = np.meshgrid(np.exp(u), np.exp(u), indexing="ij")
    f_t = F(nt)
    d_s = (c - pre * 3 * f_t * dt / k) / (3 * F(n_s) + lgt * f_t)
    ok = d_s >= 1e6
    ls = student_loss(n_s, np.clip(d_s, 1e6, 1e17), sup_loss(nt, dt))
    return float(np.min(np.where(ok, ls, np.inf)))


@settings(max_examples=15, deadline=None)
@given(scenario=scenarios, size=st.floats(7.0, 12.0), exponent=st.floats(17.0, 27.0))
def test_recipe_not_beaten_by_dense_grid(busbridge_dist, scenario, size, exponent):
    n_s, c = 10**size, 10**exponent
    if 3 * F(n_s) * 1e6 > c:
        return
    r = recipe(busbridge_dist, n_s, c, scenario)
    assert r.student_loss <= _grid_best(n_s, c, scenario) + 1e-7


def test_recipes_are_deterministic(busbridge_dist):
    a = recipe(busbridge_dist, 1.82e9, 3e21, "teacher-pretraining-inference")
    b = recipe(busbridge_dist, 1.82e9, 3e21, "teacher-pretraining-inference")
    assert a == b


def test_students_sharing_a_teacher_split_its_pretraining(busbridge_dist):
    one = recipe(busbridge_dist, 546e6, 1e21, "teacher-pretraining-inference")
    many = recipe(busbridge_dist, 546e6, 1e21, "teacher-pretraining-inference", students=16)
    assert many.students == 16
    assert many.student_loss < one.student_loss
    assert many.flops.total == pytest.approx(1e21, rel=1e-9)
    r = recipe(
        busbridge_dist,
        546e6,
        1e21,
        "teacher-pretraining",
        students=4,
        teacher=TeacherSpec(params=2e9, tokens=4e10),
    )
    assert r.flops.teacher_training == pytest.approx(3 * F(2e9) * 4e10 / 4, rel=1e-12)


def test_existing_teacher_is_used(busbridge_dist):
    r = recipe(
        busbridge_dist,
        546e6,
        1e21,
        "teacher-inference",
        teacher=TeacherSpec(loss=2.1, params=7.75e9),
    )
    assert r.teacher_given
    assert r.teacher_loss == 2.1
    assert r.student_tokens == pytest.approx(1e21 / (3 * F(546e6) + F(7.75e9)), rel=1e-12)
    from_size = recipe(
        busbridge_dist, 546e6, 1e21, "teacher-free", teacher=TeacherSpec(params=2e9, tokens=4e10)
    )
    assert from_size.teacher_loss == pytest.approx(sup_loss(2e9, 4e10), abs=1e-12)


def test_existing_teacher_needs_what_the_scenario_prices(busbridge_dist):
    with pytest.raises(InputError, match="teacher_params="):
        recipe(busbridge_dist, 546e6, 1e21, "teacher-inference", teacher=TeacherSpec(loss=2.1))
    with pytest.raises(InputError, match="teacher_tokens="):
        recipe(
            busbridge_dist,
            546e6,
            1e21,
            "teacher-pretraining",
            teacher=TeacherSpec(loss=2.1, params=1e9),
        )
    with pytest.raises(InputError, match="raise compute="):
        recipe(
            busbridge_dist,
            546e6,
            1e19,
            "teacher-pretraining",
            teacher=TeacherSpec(params=1e10, tokens=1e12),
        )


@pytest.mark.parametrize("bad", [-1e21, 0.0, math.inf, 1e40])
def test_bad_budgets(busbridge_dist, bad):
    with pytest.raises(InputError, match="compute="):
        recipe(busbridge_dist, 546e6, bad, "teacher-free")


def test_bad_student_and_scenario(busbridge_dist):
    with pytest.raises(InputError, match="student_params="):
        recipe(busbridge_dist, -5, 1e21, "teacher-free")
    with pytest.raises(InputError, match="scenario="):
        recipe(busbridge_dist, 546e6, 1e21, "teacher-cheap")
    with pytest.raises(InputError, match="students="):
        recipe(busbridge_dist, 546e6, 1e21, "teacher-free", students=0)


def test_compute_for_a_target_loss(busbridge_dist):
    res = compute_for_loss(
        busbridge_dist, student_params=546e6, target=2.4, scenario="teacher-inference"
    )
    d_sup = res.supervised / (3 * F(546e6))
    assert sup_loss(546e6, d_sup) == pytest.approx(2.4, abs=1e-9)
    assert res.recipe.student_loss == pytest.approx(2.4, abs=1e-6)
    assert res.ratio < 1  # an existing teacher makes 2.4 cheaper for this student
    full = compute_for_loss(
        busbridge_dist, student_params=546e6, target=2.4, scenario="teacher-pretraining-inference"
    )
    assert full.ratio > 1  # training the teacher too costs more than supervised


def test_target_below_floors(busbridge_dist):
    with pytest.raises(InputError, match="floor E"):
        compute_for_loss(busbridge_dist, student_params=546e6, target=1.0, scenario="teacher-free")
    with pytest.raises(InputError, match="largest plannable"):
        # above E = 1.22 but below L(1e17, 1e17) = 1.2686, the best teacher there can be
        compute_for_loss(busbridge_dist, student_params=546e6, target=1.25, scenario="teacher-free")
    with pytest.raises(InputError, match="out of reach"):
        # a 546M student reaches neither: L_sup(546M, 1e17 tokens) = 2.18
        compute_for_loss(busbridge_dist, student_params=546e6, target=1.9, scenario="teacher-free")


@pytest.mark.parametrize("n_s", [1e7, 1e9, 1e12])
@pytest.mark.parametrize("c", [1e17, 1e22, 1e27])
def test_robust_across_the_plannable_range(busbridge_dist, n_s, c):
    if c / (3 * F(n_s)) < 1e6:
        with pytest.raises(InputError, match="compute="):
            recipe(busbridge_dist, n_s, c, "teacher-free")
        return
    losses = []
    for scenario in SCENARIOS:
        try:
            r = recipe(busbridge_dist, n_s, c, scenario)
        except InputError as exc:  # only: no room for a teacher at all
            assert "raise compute=" in str(exc) and "pretraining" in scenario
            losses.append(math.inf)
            continue
        assert math.isfinite(r.student_loss) and r.student_loss > r.teacher_loss
        assert r.flops.total <= c * (1 + 1e-9)
        losses.append(r.student_loss)
    # charging more for the teacher never gives a better student
    assert losses[0] <= losses[1] + 1e-9 <= losses[3] + 2e-9
    assert losses[0] <= losses[2] + 1e-9 <= losses[3] + 2e-9
