"""Shared checks for the law tests: finite-difference Jacobians and data-range inputs."""

from __future__ import annotations

import numpy as np

from distillscale.laws import Law


def finite_difference_jacobian(law: Law, theta: np.ndarray, x: dict, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``law.log_predict`` in fitting space, shape (S, n, P)."""
    cols = []
    for p in range(theta.shape[1]):
        step = np.zeros_like(theta)
        step[:, p] = h
        cols.append((law.log_predict(theta + step, x) - law.log_predict(theta - step, x)) / (2 * h))
    return np.stack(cols, axis=-1)
