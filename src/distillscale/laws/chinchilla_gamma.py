"""The supervised law of Busbridge et al. 2025 (arXiv 2502.08606), Eq. 1.

``L(N, D) = E + (A / N^alpha + B / D^beta)^gamma``, loss in nats per token, ``N`` non-embedding
parameters (Busbridge et al.'s count), ``D`` training tokens. ``gamma = 1`` is
:mod:`~distillscale.laws.chinchilla`.

Fitting space: ``E``, ``A``, ``B`` as natural logs ``e, a, b``; ``alpha``, ``beta``, ``gamma``
as they are, so that

``log L = LSE(gamma * LSE(a - alpha log N, b - beta log D), e)``.

Start grid: Busbridge et al. App. F (docs/references.md: Busbridge): a, b in {0, 5, 10, 15, 20};
e in {-1, -0.5, 0, 0.5, 1, 1.5}; alpha, beta, gamma in {0, 0.5, 1, 1.5}: 9600 starts.
``default_delta`` is 1e-3 like Chinchilla; Busbridge et al. fitted with delta = 1e-4 on their runs,
so pass ``delta=1e-4`` to the fitter to reproduce their procedure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from distillscale.laws._math import column, lse2
from distillscale.laws.base import Law, Param

__all__ = ["ChinchillaGamma", "log_reducible"]

_AB_GRID = (0.0, 5.0, 10.0, 15.0, 20.0)
_EXP_GRID = (0.0, 0.5, 1.0, 1.5)


def log_reducible(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    log_n: NDArray[np.float64],
    log_d: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``u = log(A/N^alpha + B/D^beta)`` and the weights of its two terms, each (S, n).

    ``a, b`` are ``log A, log B``; ``log_n, log_d`` are natural logs of parameters and tokens.
    """
    return lse2(a - alpha * log_n, b - beta * log_d)


class ChinchillaGamma(Law):
    """``L = E + (A/N^alpha + B/D^beta)^gamma`` (nats per token), Busbridge et al. 2025 Eq. 1."""

    name: ClassVar[str] = "chinchilla-gamma"
    form: ClassVar[str] = "E + (A/N^alpha + B/D^beta)^gamma"
    citation: ClassVar[str] = "Busbridge et al. 2025, arXiv 2502.08606, Eq. 1"
    inputs: ClassVar[tuple[str, ...]] = ("params", "tokens")
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            name="E",
            log_scale=True,
            lower=-10.0,
            upper=5.0,
            grid=(-1.0, -0.5, 0.0, 0.5, 1.0, 1.5),
        ),
        Param(name="A", log_scale=True, lower=-10.0, upper=40.0, grid=_AB_GRID),
        Param(name="B", log_scale=True, lower=-10.0, upper=40.0, grid=_AB_GRID),
        Param(name="alpha", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
        Param(name="beta", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
        Param(name="gamma", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
    )
    default_delta: ClassVar[float] = 1e-3

    def _terms(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], ...]:
        log_n = np.log(np.asarray(x["params"], dtype=float))[None, :]  # (1, n)
        log_d = np.log(np.asarray(x["tokens"], dtype=float))[None, :]  # (1, n)
        e, a, b, alpha, beta, gamma = (column(theta, i) for i in range(6))  # (S, 1) each
        u, w_n, w_d = log_reducible(a, b, alpha, beta, log_n, log_d)  # (S, n)
        value, w_red, w_e = lse2(gamma * u, np.broadcast_to(e, u.shape))
        return value, w_red, w_e, w_n, w_d, u, gamma, log_n, log_d

    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Log loss (log nats per token), shape (S, n); see :meth:`Law.log_predict`."""
        return self._terms(theta, x)[0]

    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Log loss, shape (S, n), and its Jacobian in fitting space, shape (S, n, 6)."""
        value, w_red, w_e, w_n, w_d, u, gamma, log_n, log_d = self._terms(theta, x)
        g = w_red * gamma  # d value / d u
        jac = np.stack(
            [w_e, g * w_n, g * w_d, -g * w_n * log_n, -g * w_d * log_d, w_red * u], axis=-1
        )
        return value, jac
