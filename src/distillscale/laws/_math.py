"""Numerically stable helpers shared by the laws: log-sum-exp of two terms and its weights.

Every law writes its prediction as a log-sum-exp of log-terms (the LSE parameterisation of
Hoffmann et al. 2022, App. D.2), so that no power of N = 1e12 or D = 1e17 is ever formed
explicitly and nothing overflows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["column", "lse2", "softplus", "sigmoid"]


def column(theta: NDArray[np.float64], i: int) -> NDArray[np.float64]:
    """Parameter ``i`` of every set as a column, shape (S, 1), to broadcast against (1, n)."""
    return theta[:, i, None]


def lse2(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``log(exp(x) + exp(y))`` and the softmax weights of ``x`` and ``y`` (they sum to 1).

    The weights are the derivatives of the result with respect to ``x`` and ``y``.
    """
    value = np.logaddexp(x, y)
    return value, np.exp(x - value), np.exp(y - value)


def softplus(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(1 + exp(z))`` without overflow."""
    return np.logaddexp(0.0, z)


def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 / (1 + exp(-z))`` without overflow (the derivative of :func:`softplus`)."""
    return np.exp(-np.logaddexp(0.0, -z))
