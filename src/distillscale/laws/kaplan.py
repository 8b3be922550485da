"""The joint N, D law of Kaplan et al. 2020 (arXiv 2001.08361), Eq. 1.5 / Table 2.

``L(N, D) = [(Nc / N)^(alpha_N / alpha_D) + Dc / D]^alpha_D``, loss in nats per token, ``N``
non-embedding parameters (Kaplan et al.'s count), ``D`` tokens. ``Nc`` (parameters) and ``Dc``
(tokens) are fitted as natural logs; ``alpha_N`` and ``alpha_D`` as they are:

``log L = alpha_D * LSE((alpha_N / alpha_D) (log Nc - log N), log Dc - log D)``.

Kaplan et al. do not document their estimator (docs/references.md: Kaplan); the start grid here is
this
project's choice, spanning their published values (Nc = 6.4e13, Dc = 1.8e13, alpha_N = 0.076,
alpha_D = 0.103): log Nc, log Dc in {10, 20, 30, 40}; alpha_N, alpha_D in {0.05, 0.1, 0.3, 0.5}
(256 starts). ``alpha_D`` is bounded below by 0.01 because it divides ``alpha_N``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from distillscale.laws._math import column, lse2
from distillscale.laws.base import Law, Param

__all__ = ["Kaplan"]

_LOG_SCALE_GRID = (10.0, 20.0, 30.0, 40.0)
_EXP_GRID = (0.05, 0.1, 0.3, 0.5)


class Kaplan(Law):
    """``L = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D`` (nats per token), Kaplan et al. 2020."""

    name: ClassVar[str] = "kaplan"
    form: ClassVar[str] = "[(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D"
    citation: ClassVar[str] = "Kaplan et al. 2020, arXiv 2001.08361, Eq. 1.5 and Table 2"
    inputs: ClassVar[tuple[str, ...]] = ("params", "tokens")
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(name="Nc", log_scale=True, lower=0.0, upper=80.0, grid=_LOG_SCALE_GRID),
        Param(name="Dc", log_scale=True, lower=0.0, upper=80.0, grid=_LOG_SCALE_GRID),
        Param(name="alpha_N", log_scale=False, lower=0.0, upper=2.0, grid=_EXP_GRID),
        Param(name="alpha_D", log_scale=False, lower=0.01, upper=2.0, grid=_EXP_GRID),
    )
    default_delta: ClassVar[float] = 1e-3

    def _terms(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], ...]:
        log_n = np.log(np.asarray(x["params"], dtype=float))[None, :]  # (1, n)
        log_d = np.log(np.asarray(x["tokens"], dtype=float))[None, :]  # (1, n)
        log_nc, log_dc, alpha_n, alpha_d = (column(theta, i) for i in range(4))  # (S, 1)
        t_n = (alpha_n / alpha_d) * (log_nc - log_n)  # (S, n)
        u, w_n, w_d = lse2(t_n, log_dc - log_d)
        return alpha_d * u, u, w_n, w_d, t_n, log_nc - log_n, alpha_n, alpha_d

    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Log loss (log nats per token), shape (S, n); see :meth:`Law.log_predict`."""
        return self._terms(theta, x)[0]

    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Log loss, shape (S, n), and its Jacobian in fitting space, shape (S, n, 4)."""
        value, u, w_n, w_d, t_n, gap_n, alpha_n, alpha_d = self._terms(theta, x)
        jac = np.stack(
            [
                w_n * alpha_n,  # d/d log Nc
                w_d * alpha_d,  # d/d log Dc
                w_n * gap_n,  # d/d alpha_N
                u - w_n * t_n,  # d/d alpha_D
            ],
            axis=-1,
        )
        return value, jac
