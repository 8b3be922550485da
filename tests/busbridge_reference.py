"""Busbridge et al. 2025 laws with their Table 6 coefficients, written out from docs/references.md.

Plain formulas, independent of ``distillscale.laws``, for the tests that check the library
against them (the planner's solvers, the report's synthetic study). Losses in nats per token;
``n``, ``d`` are parameters and tokens (counts), ``lt`` the teacher loss. Work on floats and
numpy arrays alike.
"""

from __future__ import annotations

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


def supervised_loss(n, d, p=SUP):
    """docs/references.md: Busbridge: E + (A/N^alpha + B/D^beta)^gamma."""
    return p["E"] + (p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]) ** p["gamma"]


def student_loss(n, d, lt, p=DIST, s=SUP):
    """docs/references.md: Busbridge (paper Eq. 8): the student's loss distilled from a teacher of
    loss ``lt``."""
    lt_sup = supervised_loss(n, d, s)
    gap = (1 + (lt / (lt_sup * p["d1"])) ** (1 / p["f1"])) ** (-p["c1"] * p["f1"])
    red = (p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]) ** p["gamma"]
    return lt + lt ** -p["c0"] * gap * red
