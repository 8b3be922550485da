"""The Chinchilla law, Hoffmann et al. 2022 (arXiv 2203.15556), Approach 3, App. D.2.

``L(N, D) = E + A / N^alpha + B / D^beta``, loss in nats per token, ``N`` parameters (Hoffmann
et al. count all parameters, embeddings included; use whichever count your table holds, but fit
and predict with the same one), ``D`` training tokens.

Fitting space (LSE parameterisation, docs/references.md: Chinchilla): ``E``, ``A`` and ``B`` are
fitted as their
natural logs ``e, a, b``; ``alpha`` and ``beta`` as they are, so that

``log L = LSE(a - alpha log N, b - beta log D, e)``.

Start grid: Hoffmann's grid as replicated by Besiroglu et al. 2024 (docs/references.md: Chinchilla),
alpha, beta in {0, 0.5, 1, 1.5, 2}; e in {-1, -0.5, 0, 0.5, 1}; a, b in {0, 5, ..., 25}:
4500 starts. Huber delta 1e-3 (Hoffmann et al.; Besiroglu et al.).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from distillscale.laws._math import column, lse2
from distillscale.laws.base import Law, Param

__all__ = ["Chinchilla"]

_AB_GRID = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
_EXP_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)


class Chinchilla(Law):
    """``L = E + A/N^alpha + B/D^beta`` (nats per token), Hoffmann et al. 2022."""

    name: ClassVar[str] = "chinchilla"
    form: ClassVar[str] = "E + A/N^alpha + B/D^beta"
    citation: ClassVar[str] = "Hoffmann et al. 2022, arXiv 2203.15556, App. D.2"
    inputs: ClassVar[tuple[str, ...]] = ("params", "tokens")
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(name="E", log_scale=True, lower=-10.0, upper=5.0, grid=(-1.0, -0.5, 0.0, 0.5, 1.0)),
        Param(name="A", log_scale=True, lower=-10.0, upper=40.0, grid=_AB_GRID),
        Param(name="B", log_scale=True, lower=-10.0, upper=40.0, grid=_AB_GRID),
        Param(name="alpha", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
        Param(name="beta", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
    )
    default_delta: ClassVar[float] = 1e-3

    def _terms(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], ...]:
        log_n = np.log(np.asarray(x["params"], dtype=float))[None, :]  # (1, n)
        log_d = np.log(np.asarray(x["tokens"], dtype=float))[None, :]  # (1, n)
        e, a, b, alpha, beta = (column(theta, i) for i in range(5))  # (S, 1) each
        t_n = a - alpha * log_n  # (S, n): log(A / N^alpha)
        t_d = b - beta * log_d  # (S, n): log(B / D^beta)
        reducible, w_n, w_d = lse2(t_n, t_d)
        value, w_red, w_e = lse2(reducible, np.broadcast_to(e, reducible.shape))
        return value, w_red * w_n, w_red * w_d, w_e, log_n, log_d

    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Log loss (log nats per token), shape (S, n); see :meth:`Law.log_predict`."""
        return self._terms(theta, x)[0]

    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Log loss, shape (S, n), and its Jacobian in fitting space, shape (S, n, 5)."""
        value, w_n, w_d, w_e, log_n, log_d = self._terms(theta, x)
        # d LSE / d term = softmax weight of that term.
        jac = np.stack([w_e, w_n, w_d, -w_n * log_n, -w_d * log_d], axis=-1)
        return value, jac
