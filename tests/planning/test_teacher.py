from __future__ import annotations

import math

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.planning.teacher import (
    capacity_gap,
    choose_teacher,
    optimal_teacher_loss,
    teacher_for_loss,
    teacher_loss_range,
)

from ._reference import student_loss, sup_loss

SANITY_LT = [1.9, 2.1, 2.3, 2.5, 3.0]
# docs/references.md: Busbridge, L_S(N_S, D_S = 20 N_S, L_T), computed from Busbridge Table 6
SANITY = {
    143e6: [2.5944, 2.6151, 2.6649, 2.7253, 3.0082],
    546e6: [2.3618, 2.3923, 2.4375, 2.5325, 3.0000],
    1.82e9: [2.1700, 2.2053, 2.3146, 2.5002, 3.0000],
}


@pytest.mark.parametrize("n_s", list(SANITY))
def test_capacity_gap_curve_reproduces_sanity_table(busbridge_dist, n_s):
    curve = capacity_gap(busbridge_dist, n_s, 20 * n_s, SANITY_LT)
    assert curve == pytest.approx(SANITY[n_s], abs=1e-4)


@pytest.mark.parametrize("n_s", list(SANITY))
def test_choose_teacher_picks_the_best_of_the_list(busbridge_dist, n_s):
    choice = choose_teacher(busbridge_dist, n_s, 20 * n_s, [2.5, 1.9, 3.0, 2.3])
    assert choice.teacher_losses[choice.best] == 1.9
    assert choice.student_losses[choice.best] == pytest.approx(SANITY[n_s][0], abs=1e-4)


def test_choose_teacher_rejects_bad_lists(busbridge_dist):
    for bad in ([], [2.1, -1.0], [math.nan]):
        with pytest.raises(InputError, match=r"^teachers(\[\d\])?="):
            choose_teacher(busbridge_dist, 546e6, 1e10, bad)


def test_student_loss_is_u_shaped_in_teacher_loss(busbridge_dist):
    # Busbridge et al. Sec. 5.2 (capacity gap): too strong a teacher hurts.
    n_s, d_s = 546e6, 20 * 546e6
    log_lt, best = optimal_teacher_loss(busbridge_dist, n_s, d_s)
    lt = math.exp(log_lt)
    lo, hi = teacher_loss_range(busbridge_dist.supervised)
    assert lo < lt < hi
    assert student_loss(n_s, d_s, 0.8 * lt) > best
    assert student_loss(n_s, d_s, 1.2 * lt) > best
    grid = np.geomspace(lo, hi, 20001)
    assert best <= float(np.min(student_loss(n_s, d_s, grid))) + 1e-12


def test_optimal_teacher_loss_falls_with_student_size(busbridge_dist):
    # Busbridge et al. Sec. 5.3: L_T* falls as N_S grows (power law until L_S ~ L_T*).
    found = [
        math.exp(optimal_teacher_loss(busbridge_dist, n, 20 * n)[0]) for n in (143e6, 546e6, 1.82e9)
    ]
    assert found[0] > found[1] > found[2]


def test_teacher_for_loss_is_compute_optimal(busbridge_sup):
    t = teacher_for_loss(busbridge_sup, 2.1)
    assert sup_loss(t.params, t.tokens) == pytest.approx(2.1, abs=1e-9)
    train = busbridge_sup.flops.train
    for f in (0.9, 1.1):
        n = t.params * f
        # the tokens that reach 2.1 at this size cost more compute
        from distillscale.planning.supervised import tokens_for_loss

        d = float(tokens_for_loss(busbridge_sup, np.array([n]), 2.1)[0])
        assert float(train(n)) * d > t.compute
    strongest = teacher_for_loss(busbridge_sup, 1.0)
    assert (strongest.params, strongest.tokens, strongest.method) == (1e17, 1e17, "bound")
