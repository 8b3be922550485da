"""The over-training law of Gadre et al. 2024 (arXiv 2403.08540), Eq. 4 (docs/references.md: Gadre).

``L(N, D) = E + (a M^eta + b M^-eta) C^-eta`` with ``M = D / N`` (tokens per parameter) and
``C = 6 N D`` (training FLOPs); loss in nats per token, ``N`` all parameters, embeddings included
(the authors' count, docs/references.md: Parameter counting), ``D`` tokens.
It equals Chinchilla with ``alpha = beta = 2 eta``, ``A = a 6^-eta`` and ``B = b 6^-eta``.

Fitting space: ``E, a, b`` as natural logs, ``eta`` as it is:

``log L = LSE(log E, LSE(log a + eta log M, log b - eta log M) - eta log C)``.

Start grid: the authors' 128-start grid (``scaling/laws.py``, docs/references.md: Gadre) mapped to
these
parameters: their ``alpha_c, beta_c`` in {1e2, 3e2, 1e3, 3e3} give log a, log b (``a`` is
``alpha_c 6^eta``, a factor of at most 1.31 on this grid, ignored for a start); their exponent
b in {-0.1, -0.3} gives eta = -b/2 in {0.05, 0.15}; their E in {0, 1, 2, 10} gives log E with
0 mapped to 0.01. The authors fit by least squares on the raw loss (the ``least-squares``
estimator); ``default_delta`` here is the Huber 1e-3 of the project's Huber estimators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from distillscale.laws._math import column, lse2
from distillscale.laws.base import Law, Param

__all__ = ["Overtrain"]

_SCALE_GRID = tuple(math.log(v) for v in (1e2, 3e2, 1e3, 3e3))


class Overtrain(Law):
    """``L = E + (a M^eta + b M^-eta) C^-eta``, M = D/N, C = 6ND; Gadre et al. 2024."""

    name: ClassVar[str] = "overtrain"
    form: ClassVar[str] = "E + (a M^eta + b M^-eta) C^-eta, M = D/N, C = 6ND"
    citation: ClassVar[str] = "Gadre et al. 2024, arXiv 2403.08540, Eq. 4"
    inputs: ClassVar[tuple[str, ...]] = ("params", "tokens")
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            name="E",
            log_scale=True,
            lower=-10.0,
            upper=5.0,
            grid=tuple(math.log(v) for v in (0.01, 1.0, 2.0, 10.0)),
        ),
        Param(name="a", log_scale=True, lower=-10.0, upper=40.0, grid=_SCALE_GRID),
        Param(name="b", log_scale=True, lower=-10.0, upper=40.0, grid=_SCALE_GRID),
        Param(name="eta", log_scale=False, lower=0.0, upper=2.0, grid=(0.05, 0.15)),
    )
    default_delta: ClassVar[float] = 1e-3

    def _terms(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], ...]:
        log_n = np.log(np.asarray(x["params"], dtype=float))[None, :]  # (1, n)
        log_d = np.log(np.asarray(x["tokens"], dtype=float))[None, :]  # (1, n)
        log_m = log_d - log_n  # log tokens per parameter
        log_c = math.log(6.0) + log_n + log_d  # log training FLOPs, C = 6ND
        e, log_a, log_b, eta = (column(theta, i) for i in range(4))  # (S, 1) each
        inner, w_a, w_b = lse2(log_a + eta * log_m, log_b - eta * log_m)  # (S, n)
        reducible = inner - eta * log_c
        value, w_red, w_e = lse2(reducible, np.broadcast_to(e, reducible.shape))
        return value, w_e, w_red, w_a, w_b, log_m, log_c

    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Log loss (log nats per token), shape (S, n); see :meth:`Law.log_predict`."""
        return self._terms(theta, x)[0]

    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Log loss, shape (S, n), and its Jacobian in fitting space, shape (S, n, 4)."""
        value, w_e, w_red, w_a, w_b, log_m, log_c = self._terms(theta, x)
        d_eta = w_red * ((w_a - w_b) * log_m - log_c)
        jac = np.stack([w_e, w_red * w_a, w_red * w_b, d_eta], axis=-1)
        return value, jac
