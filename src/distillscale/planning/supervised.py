"""Supervised planning: compute-optimal size and data, and the cheapest model to a target loss.

The target-loss question optionally counts lifetime inference (Sardana et al. 2024).

Compute is counted with the surface's :class:`~distillscale.planning.surfaces.FlopsConvention`:
``C = train(N) * D`` (``6 N D`` or Busbridge et al.'s ``3 F(N) D``). Sizes and token counts are
searched in ``[1e6, 1e17]`` (docs/references.md: Busbridge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.planning._args import value_subject
from distillscale.planning._search import LOG_MAX, LOG_MIN, minimize_1d
from distillscale.planning.surfaces import SupervisedSurface

__all__ = [
    "SupervisedOptimum",
    "cheapest_for_loss",
    "chinchilla_optimum",
    "compute_optimal",
    "tokens_for_loss",
]

Array = NDArray[np.float64]

#: Laws of the form E + (A/N^alpha + B/D^beta)^gamma, whose 6ND optimum is closed form.
_CLOSED_FORM_LAWS = frozenset({"chinchilla", "chinchilla-gamma"})


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisedOptimum:
    """A supervised training plan.

    Parameters
    ----------
    params : float
        Model size N (parameters, counted as the fit counts them).
    tokens : float
        Training tokens D (count).
    loss : float
        Predicted loss L(N, D), nats per token.
    compute : float
        Training FLOPs ``train(N) * D`` (operations).
    inference_flops : float
        Lifetime inference FLOPs ``forward(N) * D_inf`` (operations); 0 without inference.
    method : str
        ``"closed-form"`` or ``"numerical"``.
    """

    params: float
    tokens: float
    loss: float
    compute: float
    inference_flops: float = 0.0
    method: str

    @property
    def tokens_per_param(self) -> float:
        """D / N (tokens per parameter)."""
        return self.tokens / self.params


def check_compute(compute: float, option: str = "compute") -> float:
    """Validate a FLOPs budget: finite, in ``[1e10, 1e35]`` operations.

    ``option`` is the keyword argument the budget came in (the error's subject).
    """
    c = float(compute)
    if not math.isfinite(c) or c <= 0:
        raise InputError(
            ": not a positive FLOPs budget; give training FLOPs (operations), e.g. 1e21",
            subject=value_subject(option, repr(compute)),
        )
    if not 1e10 <= c <= 1e35:
        raise InputError(
            " FLOPs is outside the plannable range 1e10..1e35 operations (FLOPs, not FLOP/s "
            "or PF-days; 1 PF-day = 8.64e19 FLOPs)",
            subject=value_subject(option, f"{c:.3g}"),
        )
    return c


def chinchilla_optimum(params: Mapping[str, float], compute: float) -> tuple[float, float]:
    """Closed-form compute-optimal ``(N, D)`` under ``C = 6 N D`` (Hoffmann et al. 2022 App. D.2).

    ``N_opt = G (C/6)^a``, ``D_opt = C / (6 N_opt)``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``,
    ``a = beta / (alpha + beta)`` (docs/references.md: Chinchilla). Also exact for
    ``chinchilla-gamma``: ``gamma``
    is a monotone transform of the reducible term and does not move the optimum.

    Parameters
    ----------
    params : mapping
        ``A``, ``B``, ``alpha``, ``beta`` (natural values).
    compute : float
        Training FLOPs (operations).

    Returns
    -------
    tuple of float
        ``(N_opt, D_opt)``: parameters and tokens.
    """
    a_, b_ = float(params["A"]), float(params["B"])
    alpha, beta = float(params["alpha"]), float(params["beta"])
    g = (alpha * a_ / (beta * b_)) ** (1.0 / (alpha + beta))
    n = g * (compute / 6.0) ** (beta / (alpha + beta))
    return n, compute / (6.0 * n)


def compute_optimal(surface: SupervisedSurface, compute: float) -> SupervisedOptimum:
    """The compute-optimal model for a training budget.

    Closed form for ``chinchilla``/``chinchilla-gamma`` under the ``6nd`` convention; otherwise a
    numerical minimisation of ``L(N, C / train(N))`` over ``log N`` (grid, then bounded Brent),
    also used when ``alpha`` or ``beta`` is 0 (the closed form divides by them).

    Parameters
    ----------
    surface : SupervisedSurface
        Law, parameters and FLOPs convention.
    compute : float
        Training FLOPs (operations).
    """
    compute = check_compute(compute)
    train = surface.flops.train
    exponents = (float(surface.params.get("alpha", 0.0)), float(surface.params.get("beta", 0.0)))
    if surface.law in _CLOSED_FORM_LAWS and surface.flops.name == "6nd" and min(exponents) > 0:
        n, d = chinchilla_optimum(surface.params, compute)
        if LOG_MIN <= math.log(n) <= LOG_MAX and LOG_MIN <= math.log(d) <= LOG_MAX:
            loss = float(surface.loss(n, d))
            return SupervisedOptimum(
                params=n, tokens=d, loss=loss, compute=compute, method="closed-form"
            )

    def objective(log_n: Array) -> Array:
        n = np.exp(log_n)
        d = compute / train(n)
        ok = (d >= 1e6) & (d <= 1e17)
        return np.where(ok, surface.loss(n, np.clip(d, 1e6, 1e17)), np.inf)

    log_n, loss = minimize_1d(objective, LOG_MIN, LOG_MAX, n=513)
    if not math.isfinite(loss):
        raise InputError(
            f" FLOPs admits no model with N and D in 1e6..1e17 under the {surface.flops.name} "
            "convention; choose a budget in 1e17..1e30 FLOPs",
            subject=value_subject("compute", f"{compute:.3g}"),
        )
    n = math.exp(log_n)
    return SupervisedOptimum(
        params=n,
        tokens=compute / float(train(n)),
        loss=loss,
        compute=compute,
        method="numerical",
    )


def tokens_for_loss(
    surface: SupervisedSurface, n: ArrayLike, target: ArrayLike, *, clip: bool = True
) -> Array:
    """Tokens ``D`` with ``L(N, D) = target``, elementwise over broadcast ``N`` and ``target``.

    Closed form for ``chinchilla``/``chinchilla-gamma``; otherwise bisection on log D in
    1e6..1e17. Returns ``inf`` where the target is out of reach even at 1e17 tokens. With
    ``clip`` (default) values below 1e6 (target met already at 1e6 tokens) become 1e6; without
    it they are ``nan``.
    """
    n_a, t_a = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(target, dtype=float))
    if surface.law in _CLOSED_FORM_LAWS:
        d = _tokens_closed_form(surface.params, n_a, t_a)
    else:
        lo = np.full(n_a.shape, LOG_MIN)
        hi = np.full(n_a.shape, LOG_MAX)
        reach = surface.loss(n_a, np.exp(hi)) <= t_a
        met = surface.loss(n_a, np.exp(lo)) <= t_a
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            above = surface.loss(n_a, np.exp(mid)) > t_a
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        d = np.where(reach, np.where(met, 0.0, np.exp(hi)), np.inf)
    if clip:
        return np.maximum(d, 1e6)
    return np.where(d < 1e6, np.nan, d)


def _tokens_closed_form(params: Mapping[str, float], n: Array, target: Array) -> Array:
    """Invert ``E + (A/N^alpha + B/D^beta)^gamma = target`` for D (``gamma = 1``: Chinchilla).

    ``inf`` when out of reach within 1e17 tokens; not clipped from below.
    """
    gamma = float(params.get("gamma", 1.0))
    excess = np.maximum(target - float(params["E"]), 0.0)
    room = excess ** (1.0 / gamma) - float(params["A"]) * n ** -float(params["alpha"])  # B/D^beta
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(room > 0, (float(params["B"]) / room) ** (1.0 / float(params["beta"])), np.inf)
    return np.where(d > 1e17, np.inf, d)


def check_target(surface: SupervisedSurface, target: float, option: str = "target_loss") -> None:
    """Raise :class:`InputError` when ``target`` is at or below what the law can ever reach.

    ``option`` is the keyword argument the target came in (the error's subject).
    """
    t = float(target)
    if not math.isfinite(t) or t <= 0:
        raise InputError(
            ": not a positive loss (nats per token)", subject=value_subject(option, repr(target))
        )
    if t <= surface.floor:
        raise InputError(
            f" nats/token is at or below the law's floor E = {surface.floor:.4g} of the "
            f"{surface.law} fit; no model reaches it: choose a loss above E",
            subject=value_subject(option, f"{t:.4g}"),
        )
    best = float(surface.loss(1e17, 1e17))
    if t <= best:
        raise InputError(
            f" nats/token is below {best:.4g}, the loss of the largest plannable model (1e17 "
            "parameters, 1e17 tokens); choose a higher target",
            subject=value_subject(option, f"{t:.4g}"),
        )


def cheapest_for_loss(
    surface: SupervisedSurface, target: float, inference_tokens: float = 0.0
) -> SupervisedOptimum:
    """The model reaching ``target`` loss at least compute (training plus lifetime inference).

    Minimises ``train(N) D_tr + forward(N) D_inf`` subject to ``L(N, D_tr) = target``. With
    ``D_inf = 0`` this is the cheapest supervised run to a loss. With ``D_inf > 0`` it is the
    inference-aware objective of Sardana et al. 2024 as reconstructed in docs/references.md: Sardana
    (``6 N D_tr + 2 N D_inf`` under ``6nd``): that objective is **UNVERIFIED** against the paper.

    Parameters
    ----------
    surface : SupervisedSurface
        Law, parameters and FLOPs convention.
    target : float
        Loss to reach, nats per token.
    inference_tokens : float
        Lifetime inference tokens ``D_inf`` (count), >= 0.
    """
    check_target(surface, target)
    d_inf = float(inference_tokens)
    if not math.isfinite(d_inf) or d_inf < 0:
        raise InputError(
            ": must be a finite token count >= 0",
            subject=value_subject("inference_tokens", repr(inference_tokens)),
        )
    flops = surface.flops

    def cost(log_n: Array) -> Array:
        n = np.exp(log_n)
        d = tokens_for_loss(surface, n, target)
        return np.log(flops.train(n) * d + flops.forward(n) * d_inf)

    log_n, log_cost = minimize_1d(cost, LOG_MIN, LOG_MAX, n=257)
    if not math.isfinite(log_cost):
        raise InputError(
            " nats/token is out of reach for N and D in 1e6..1e17",
            subject=value_subject("target_loss", f"{target:.4g}"),
        )
    n = math.exp(log_n)
    d = float(tokens_for_loss(surface, np.array([n]), target)[0])
    return SupervisedOptimum(
        params=n,
        tokens=d,
        loss=float(surface.loss(n, d)),
        compute=float(flops.train(n)) * d,
        inference_flops=float(flops.forward(n)) * d_inf,
        method="numerical",
    )
