"""Properties of the student law stated in Busbridge et al. 2025 §4 (docs/references.md:
Busbridge)."""

import numpy as np
import pytest

from distillscale.laws import load_published

DIST = load_published("busbridge2025")


def student(n, d, lt):
    return DIST.predict(params=n, tokens=d, teacher_loss=lt)


def test_student_approaches_teacher_with_unbounded_size_and_data():
    lt = 2.2
    gaps = [float(student(n, 20 * n, lt)) - lt for n in (1e9, 1e12, 1e15, 1e18)]
    assert gaps[0] > 0.05 and all(g >= 0 for g in gaps)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-4


def test_student_follows_a_useless_teacher():
    n = 546e6
    for lt in (10.0, 50.0, 200.0):
        assert float(student(n, 20 * n, lt)) == pytest.approx(lt, rel=1e-6)


def test_student_loss_is_u_shaped_in_teacher_loss():
    n = 546e6
    lt = np.linspace(1.0, 4.0, 301)
    ls = student(n, 20 * n, lt)
    best = int(np.argmin(ls))
    assert 0 < best < len(lt) - 1, "minimum must be interior"
    assert np.all(np.diff(ls[: best + 1]) <= 1e-12)
    assert np.all(np.diff(ls[best:]) >= -1e-12)
    assert ls[0] - ls[best] > 0.05  # a much stronger teacher hurts: the capacity gap


def test_student_never_beats_its_teacher():
    n = np.geomspace(1e8, 1e11, 7)[:, None]
    lt = np.linspace(1.5, 4.0, 11)
    assert np.all(student(n, 40 * n, lt) >= lt)
