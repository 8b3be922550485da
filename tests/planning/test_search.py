"""The deterministic minimisers: the Brent polish next to infeasible (infinite) cells."""

from __future__ import annotations

import numpy as np
import pytest

from distillscale.planning._search import minimize_1d


def test_minimum_at_the_edge_of_the_feasible_region_without_warnings():
    # Feasible only for x >= 0.3 and increasing there: the minimum is the edge. The best grid cell
    # borders an infinite one, and Brent's parabolic step used to compute inf - inf (a
    # RuntimeWarning, an error under pytest).
    def f(x):
        return np.where(x >= 0.3, 1.0 + (x - 0.3), np.inf)

    x, fx = minimize_1d(f, 0.0, 1.0, n=11)
    assert x == pytest.approx(0.3, abs=1e-6) and fx == pytest.approx(1.0, abs=1e-6)


def test_interior_minimum_is_polished_beyond_the_grid():
    x, fx = minimize_1d(lambda x: (x - 0.123456) ** 2, 0.0, 1.0, n=11)
    assert x == pytest.approx(0.123456, abs=1e-6) and fx < 1e-10


def test_infinite_everywhere_reports_inf():
    x, fx = minimize_1d(lambda x: np.full_like(x, np.inf), 0.0, 1.0, n=5)
    assert fx == np.inf and 0.0 <= x <= 1.0
