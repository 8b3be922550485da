"""Busbridge et al. 2025 Table 6 surfaces written out from LAWS.md §1.2-1.5 as plain formulas.

They let the solvers be tested on their own, independently of the law registry; a separate test
checks that the registry-built surfaces agree with them.
"""

from __future__ import annotations

import numpy as np
import pytest

from distillscale.flops import busbridge_forward_flops
from distillscale.planning.surfaces import (
    DistillationSurface,
    FlopsConvention,
    SupervisedSurface,
    flops_convention,
)

SUP = {"E": 1.220, "A": 3355.0, "B": 18186.0, "alpha": 0.408, "beta": 0.431, "gamma": 0.452}
DIST = {
    "A": 2243.0,
    "B": 24181.0,
    "alpha": 0.321,
    "beta": 0.637,
    "gamma": 0.764,
    "c0": 2.549,
    "c1": 522.6,
    "f1": 0.090,
    "d1": 1.315,
}


def sup_loss(n, d, p=SUP):
    return p["E"] + (p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]) ** p["gamma"]


def student_loss(n, d, lt, p=DIST, s=SUP):
    lt_sup = sup_loss(n, d, s)
    gap = (1 + (lt / (lt_sup * p["d1"])) ** (1 / p["f1"])) ** (-p["c1"] * p["f1"])
    red = (p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]) ** p["gamma"]
    return lt + lt ** -p["c0"] * gap * red


def make_supervised(flops: FlopsConvention | None = None) -> SupervisedSurface:
    return SupervisedSurface(
        law="chinchilla-gamma",
        params=SUP,
        loss_fn=sup_loss,
        flops=flops or flops_convention("busbridge"),
    )


@pytest.fixture(scope="session")
def busbridge_sup() -> SupervisedSurface:
    return make_supervised()


@pytest.fixture(scope="session")
def busbridge_dist() -> DistillationSurface:
    return DistillationSurface(supervised=make_supervised(), student_fn=student_loss)


def test_reference_formulas_match_laws_md_sanity_tables():
    # LAWS.md §1.9 (computed from Table 6)
    assert sup_loss(546e6, 20 * 546e6) == pytest.approx(2.5149, abs=1e-4)
    assert student_loss(546e6, 20 * 546e6, 2.3) == pytest.approx(2.4375, abs=1e-4)
    assert student_loss(1.82e9, 20 * 1.82e9, 1.9) == pytest.approx(2.1700, abs=1e-4)
    assert busbridge_forward_flops(7.75e9) == pytest.approx(16.99e9, rel=3e-3)
    assert np.isfinite(sup_loss(1e17, 1e17))
