"""The student law of Busbridge et al. 2025 (arXiv 2502.08606), Eq. 8.

See docs/references.md: Busbridge.

::

    L_S = L_T + L_T^(-c0) * (1 + (L_T / (Ltilde_S * d1))^(1/f1))^(-c1 * f1)
                           * (A / N_S^alpha + B / D_S^beta)^gamma

Units: ``L_S`` and ``L_T`` (input ``teacher_loss``, the teacher's cross-entropy against the data)
in nats per token; ``N_S`` (input ``params``) student non-embedding parameters; ``D_S`` (input
``tokens``) distillation tokens. ``Ltilde_S`` (derived input ``supervised_loss``, nats per token)
is the supervised law (:mod:`~distillscale.laws.chinchilla_gamma`) evaluated at (N_S, D_S); the
fitter supplies it from the supervised fit. The paper's primed names A', B', alpha', beta',
gamma' are written ``A B alpha beta gamma`` here (docs/conventions.md).

Fitting space and stability. In log form, with ``lT = log L_T`` and ``lS = log Ltilde_S``::

    log L_S = LSE(lT, K),
    K = -c0 lT - c1 f1 softplus((lT - lS - log d1) / f1)
        + gamma LSE(a - alpha log N, b - beta log D)

``A, B`` are fitted as ``a = log A, b = log B``; ``alpha, beta, gamma, c0`` as they are; ``c1``,
``f1`` and ``d1`` as natural logs. Fitting ``log f1`` keeps ``1/f1`` finite and positive, and the
softplus never overflows however sharp the transition. ``log c1`` keeps the transition factor
at most 1 (a teacher never makes the student worse than the term without it).

Start grid: App. F (docs/references.md: Busbridge): a, b in {0, 5, 10, 15, 20}; alpha, beta, gamma
in {0, 0.5, 1};
c0 in {0, 0.5, 1, 1.5}; c1, f1 in {0, 0.5, 1, 1.5} with the published 0 mapped to 0.01 (both are
fitted as logs, so 0 itself is not representable; 0.01 makes ``c1 f1`` negligible, which is what 0
means there); log d1 in {-1, -0.5, 0, 0.5, 1}: 216,000 starts. Bounds: log c1, log f1 in
[log 1e-3, log 1e4]; c0 in [-5, 10]; exponents in [0, 4]; log d1 in [-5, 5]. ``default_delta``
is 1e-4, Busbridge et al.'s value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from distillscale.laws._math import column, lse2, sigmoid, softplus
from distillscale.laws.base import Law, Param
from distillscale.laws.chinchilla_gamma import log_reducible

__all__ = ["Distillation", "ZERO_AS"]

#: The published grid's 0 for c1 and f1, which are fitted as logs.
ZERO_AS = 0.01

_AB_GRID = (0.0, 5.0, 10.0, 15.0, 20.0)
_EXP_GRID = (0.0, 0.5, 1.0)
_C_GRID = (0.0, 0.5, 1.0, 1.5)
_LOG_C_GRID = tuple(math.log(v if v > 0 else ZERO_AS) for v in _C_GRID)
_LOG_C_BOUNDS = (math.log(1e-3), math.log(1e4))


class Distillation(Law):
    """Student loss (nats per token) from student size, distillation tokens and teacher loss."""

    name: ClassVar[str] = "distillation"
    form: ClassVar[str] = (
        "L_T + L_T^-c0 * (1 + (L_T/(Ltilde_S*d1))^(1/f1))^(-c1*f1) * (A/N^alpha + B/D^beta)^gamma"
    )
    citation: ClassVar[str] = "Busbridge et al. 2025, arXiv 2502.08606, Eq. 8"
    inputs: ClassVar[tuple[str, ...]] = ("params", "tokens", "teacher_loss")
    derived_inputs: ClassVar[tuple[str, ...]] = ("supervised_loss",)
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(name="A", log_scale=True, lower=-10.0, upper=40.0, grid=_AB_GRID),
        Param(name="B", log_scale=True, lower=-10.0, upper=40.0, grid=_AB_GRID),
        Param(name="alpha", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
        Param(name="beta", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
        Param(name="gamma", log_scale=False, lower=0.0, upper=4.0, grid=_EXP_GRID),
        Param(name="c0", log_scale=False, lower=-5.0, upper=10.0, grid=_C_GRID),
        Param(
            name="c1",
            log_scale=True,
            lower=_LOG_C_BOUNDS[0],
            upper=_LOG_C_BOUNDS[1],
            grid=_LOG_C_GRID,
        ),
        Param(
            name="f1",
            log_scale=True,
            lower=_LOG_C_BOUNDS[0],
            upper=_LOG_C_BOUNDS[1],
            grid=_LOG_C_GRID,
        ),
        Param(name="d1", log_scale=True, lower=-5.0, upper=5.0, grid=(-1.0, -0.5, 0.0, 0.5, 1.0)),
    )
    default_delta: ClassVar[float] = 1e-4

    def _terms(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> dict[str, NDArray[np.float64]]:
        log_n = np.log(np.asarray(x["params"], dtype=float))[None, :]  # (1, n)
        log_d = np.log(np.asarray(x["tokens"], dtype=float))[None, :]  # (1, n)
        l_t = np.log(np.asarray(x["teacher_loss"], dtype=float))[None, :]  # (1, n)
        l_s = np.log(np.asarray(x["supervised_loss"], dtype=float))[None, :]  # (1, n)
        a, b, alpha, beta, gamma, c0, log_c1, log_f1, log_d1 = (
            column(theta, i) for i in range(9)
        )  # (S, 1) each
        c1, f1 = np.exp(log_c1), np.exp(log_f1)
        u, w_n, w_d = log_reducible(a, b, alpha, beta, log_n, log_d)  # (S, n)
        z = l_t - l_s - log_d1  # (S, n): log of L_T / (Ltilde_S d1)
        q = z / f1
        sp = softplus(q)
        k = -c0 * l_t - c1 * f1 * sp + gamma * u  # (S, n): log of the reducible term
        value, _, w_k = lse2(np.broadcast_to(l_t, k.shape), k)
        return {
            "value": value, "w_k": w_k, "u": u, "w_n": w_n, "w_d": w_d, "z": z, "sp": sp,
            "sig": sigmoid(q), "c1": c1, "f1": f1, "gamma": gamma, "l_t": l_t,
            "log_n": log_n, "log_d": log_d,
        }  # fmt: skip

    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Log student loss (log nats per token), shape (S, n); see :meth:`Law.log_predict`."""
        return self._terms(theta, x)["value"]

    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Log student loss, shape (S, n), and its Jacobian in fitting space, shape (S, n, 9)."""
        t = self._terms(theta, x)
        g = t["gamma"] * t["w_n"], t["gamma"] * t["w_d"]
        c1_f1_sp = t["c1"] * t["f1"] * t["sp"]
        dk = [
            g[0],  # d K / d a
            g[1],  # d K / d b
            -g[0] * t["log_n"],  # d K / d alpha
            -g[1] * t["log_d"],  # d K / d beta
            t["u"],  # d K / d gamma
            -t["l_t"] * np.ones_like(t["u"]),  # d K / d c0
            -c1_f1_sp,  # d K / d log c1
            -c1_f1_sp + t["c1"] * t["sig"] * t["z"],  # d K / d log f1
            t["c1"] * t["sig"] * np.ones_like(t["u"]),  # d K / d log d1
        ]
        jac = t["w_k"][..., None] * np.stack(dk, axis=-1)
        return t["value"], jac
