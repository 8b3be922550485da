"""The downstream error law of Gadre et al. 2024 (arXiv 2403.08540), Eq. 5.

See docs/references.md: Gadre.

``Err(L) = epsilon - k exp(-gamma L)``: average top-1 error (a fraction in [0, 1]) from the
validation loss ``L`` (input ``loss``, nats per token) of the same model.

Fitting space: ``epsilon`` and ``k`` as natural logs, ``gamma`` (per nat) as it is:

``log Err = log epsilon + log(1 - exp(t))``, ``t = log k - log epsilon - gamma L``.

The form is only defined where ``t < 0`` (positive predicted error). Elsewhere ``t`` is clipped
to ``T_MAX = -1e-9``, so ``log Err`` stays finite (about ``log epsilon - 20.7``) and its gradient
there is zero, consistent with the clipped value.

Start grid (this project's choice, spanning the published values epsilon 0.76 to 0.87, k 1.1 to
2.2, gamma 0.7 to 1.0): epsilon in {0.5, 0.75, 1}; k in {0.5, 1, 2, 4}; gamma in {0.25, 0.5, 1, 2}
(48 starts). The authors fit by least squares on the raw error (the ``least-squares`` estimator).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from distillscale.laws._math import column
from distillscale.laws.base import Law, Param

__all__ = ["Downstream", "T_MAX"]

#: Upper clip of ``t = log(k exp(-gamma L) / epsilon)``, keeping ``log Err`` finite.
T_MAX = -1e-9


class Downstream(Law):
    """``Err = epsilon - k exp(-gamma L)`` (error fraction from loss in nats per token)."""

    name: ClassVar[str] = "downstream"
    form: ClassVar[str] = "epsilon - k exp(-gamma L)"
    citation: ClassVar[str] = "Gadre et al. 2024, arXiv 2403.08540, Eq. 5"
    inputs: ClassVar[tuple[str, ...]] = ("loss",)
    output: ClassVar[str] = "error"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            name="epsilon",
            log_scale=True,
            lower=-10.0,
            upper=math.log(2.0),
            grid=tuple(math.log(v) for v in (0.5, 0.75, 1.0)),
        ),
        Param(
            name="k",
            log_scale=True,
            lower=-10.0,
            upper=10.0,
            grid=tuple(math.log(v) for v in (0.5, 1.0, 2.0, 4.0)),
        ),
        Param(name="gamma", log_scale=False, lower=0.0, upper=10.0, grid=(0.25, 0.5, 1.0, 2.0)),
    )
    default_delta: ClassVar[float] = 1e-3

    def _terms(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], ...]:
        loss = np.asarray(x["loss"], dtype=float)[None, :]  # (1, n), nats per token
        log_eps, log_k, gamma = (column(theta, i) for i in range(3))  # (S, 1) each
        t_raw = log_k - log_eps - gamma * loss  # (S, n)
        t = np.minimum(t_raw, T_MAX)
        value = log_eps + np.log(-np.expm1(t))
        return value, t, t_raw <= T_MAX, loss

    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Log error (log of a fraction), shape (S, n); see :meth:`Law.log_predict`."""
        return self._terms(theta, x)[0]

    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Log error, shape (S, n), and its Jacobian in fitting space, shape (S, n, 3)."""
        value, t, inside, loss = self._terms(theta, x)
        r = np.where(inside, np.exp(t) / -np.expm1(t), 0.0)  # -d log(1 - e^t) / dt
        jac = np.stack([1.0 + r, -r, r * loss], axis=-1)
        return value, jac
