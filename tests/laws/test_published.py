import math

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.laws import get_law, list_published, load_published

# docs/references.md: Busbridge: L(N, 20N) from Busbridge et al. Table 6 (supervised).
SUPERVISED_20N = {
    143e6: 2.8892,
    546e6: 2.5149,
    975e6: 2.3802,
    1.82e9: 2.2509,
    2.72e9: 2.1754,
    4.82e9: 2.0773,
    7.75e9: 2.0036,
}
# docs/references.md: Busbridge: L_S(N_S, 20 N_S, L_T) from Table 6 (distillation + supervised).
TEACHER_LOSSES = (1.9, 2.1, 2.3, 2.5, 3.0)
STUDENT_20N = {
    143e6: (2.5944, 2.6151, 2.6649, 2.7253, 3.0082),
    546e6: (2.3618, 2.3923, 2.4375, 2.5325, 3.0000),
    1.82e9: (2.1700, 2.2053, 2.3146, 2.5002, 3.0000),
}
# docs/references.md: Chinchilla: L(70e9, 1.4e12) for the four Chinchilla coefficient sets.
CHINCHILLA_POINT = {
    "hoffmann2022-rounded": 1.9366,
    "hoffmann2022": 1.9208,
    "besiroglu2024-rounded": 1.9739,
    "besiroglu2024": 1.9734,
}


@pytest.mark.parametrize(("n", "want"), SUPERVISED_20N.items())
def test_busbridge_supervised_sanity_table(n, want):
    sup = load_published("busbridge2025-supervised")
    assert sup.predict(params=n, tokens=20 * n) == pytest.approx(want, abs=1e-3)
    assert float(sup.predict(params=n, tokens=20 * n)) == pytest.approx(want, abs=6e-5)


def test_busbridge_student_sanity_table():
    dist = load_published("@busbridge2025")
    n = np.array(list(STUDENT_20N))[:, None]
    got = dist.predict(params=n, tokens=20 * n, teacher_loss=np.array(TEACHER_LOSSES))
    np.testing.assert_allclose(got, np.array(list(STUDENT_20N.values())), atol=1e-3)
    # the same with supervised_loss supplied from the nested set, as a fitter would
    sup = dist.supervised.predict(params=n, tokens=20 * n)
    direct = get_law("distillation").predict(
        dist.params, params=n, tokens=20 * n, teacher_loss=TEACHER_LOSSES, supervised_loss=sup
    )
    np.testing.assert_allclose(direct, got, rtol=1e-14)


@pytest.mark.parametrize(("name", "want"), CHINCHILLA_POINT.items())
def test_chinchilla_point_for_each_coefficient_set(name, want):
    assert load_published(name).predict(params=70e9, tokens=1.4e12) == pytest.approx(want, abs=1e-4)


def test_hoffmann_holds_the_unrounded_tex_values():
    p = load_published("hoffmann2022").params
    assert math.log(p["A"]) == pytest.approx(6.0073404, abs=1e-12)
    assert math.log(p["B"]) == pytest.approx(6.0179186, abs=1e-12)
    assert math.log(p["E"]) == pytest.approx(0.5267228, abs=1e-12)
    assert (p["alpha"], p["beta"]) == (0.33917084, 0.2849083)
    assert load_published("hoffmann2022-rounded").params["A"] == 406.4


def test_epoch_headline_values_and_intervals():
    s = load_published("besiroglu2024")
    assert s.params["A"] == pytest.approx(482.00572, rel=1e-7)
    assert s.params["B"] == pytest.approx(2085.43420, rel=1e-7)
    assert s.params["E"] == pytest.approx(1.81686, abs=5e-6)
    assert s.ci_level == 0.95 and s.ci["B"] == (1042.357, 5810.344)
    assert s.n_points == 240 and s.param_count == "total"


def test_busbridge_structure():
    s = load_published("busbridge2025")
    assert s.law == "distillation" and s.param_count == "non_embedding"
    assert s.ci_level == 0.9 and s.n_points == 697
    assert s.supervised is not None and s.supervised.law == "chinchilla-gamma"
    assert s.supervised.n_points == 73
    assert s.supervised == load_published("busbridge2025-supervised")
    assert "2502.08606" in s.citation


@pytest.mark.parametrize("name", list_published())
def test_every_set_loads_matches_its_law_and_cites_arxiv(name):
    s = load_published(name)
    assert s.name == name
    law = get_law(s.law)
    assert set(s.params) == set(law.param_names)
    theta = law.to_fitting(s.params)
    assert np.all(theta >= law.lower) and np.all(theta <= law.upper), "outside the law's bounds"
    assert "arXiv:" in s.citation
    if s.ci is not None:
        for k, (lo, hi) in s.ci.items():
            assert lo <= s.params[k] <= hi


def test_gadre_overtrain_equals_chinchilla_with_tied_exponents():
    s = load_published("gadre2024-c4")
    p = s.params
    chin = {
        "E": p["E"],
        "A": p["a"] * 6 ** -p["eta"],
        "B": p["b"] * 6 ** -p["eta"],
        "alpha": 2 * p["eta"],
        "beta": 2 * p["eta"],
    }
    n, d = np.geomspace(1e7, 7e9, 5), np.geomspace(2e8, 9e11, 5)
    np.testing.assert_allclose(
        s.predict(params=n, tokens=d), get_law("chinchilla").predict(chin, params=n, tokens=d)
    )
    # the authors' code form: alpha_c N^b + beta_c 6^(b/2) (M N)^b + E, with b = -2 eta
    b = -2 * p["eta"]
    alpha_c, m = p["a"] * 6 ** -p["eta"], d / n
    code = alpha_c * n**b + p["b"] * 6 ** (b / 2) * (m * n) ** b + p["E"]
    np.testing.assert_allclose(s.predict(params=n, tokens=d), code)


def test_gadre_downstream_17_task_values():
    s = load_published("gadre2024-c4-downstream17")
    p = s.params
    # full precision (refitted in tests/fitting/test_gadre2024_reproduction.py), 4 digits recorded
    assert (round(p["epsilon"], 4), round(p["k"], 3), round(p["gamma"], 4)) == (
        0.8497,
        2.079,
        0.7561,
    )
    loss = np.array([2.5, 3.5, 5.0])
    want = p["epsilon"] - p["k"] * np.exp(-p["gamma"] * loss)
    np.testing.assert_allclose(s.predict(loss=loss), want, rtol=1e-12)
    rounded = 0.8497 - 2.079 * np.exp(-0.7561 * loss)
    np.testing.assert_allclose(s.predict(loss=loss), rounded, rtol=2e-4)


def test_kaplan_reduces_to_its_single_variable_laws():
    s = load_published("kaplan2020")
    p = s.params
    # D -> infinity: L(N) = (Nc/N)^alpha_N
    assert s.predict(params=1e9, tokens=1e40) == pytest.approx(
        (p["Nc"] / 1e9) ** p["alpha_N"], rel=1e-9
    )
    # N -> infinity: L(D) = (Dc/D)^alpha_D
    assert s.predict(params=1e60, tokens=1e10) == pytest.approx(
        (p["Dc"] / 1e10) ** p["alpha_D"], rel=1e-9
    )


def test_unknown_set_lists_the_available_ones():
    with pytest.raises(InputError, match="@busbridge2025") as info:
        load_published("@nosuchpaper")
    assert "@hoffmann2022" in str(info.value)
