"""Busbridge et al. 2025 Table 6 surfaces written out from LAWS.md §1.2-1.5 as plain formulas.

They let the solvers be tested on their own, independently of the law registry;
``test_surfaces.py`` checks that the registry-built surfaces agree with them.
"""

from __future__ import annotations

from distillscale.planning.surfaces import (
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
