"""Loss surfaces the planner optimises over: a fitted law, its parameters and a FLOPs convention.

The planner never touches a :class:`~distillscale.fitting.result.Fit` inside its solvers: it works
on two small frozen records that hold plain callables, so that every solver is testable on its own
and one bootstrap sample is re-planned by building one more surface.

* :class:`FlopsConvention`: forward and training FLOPs per token as functions of the
  (non-embedding) parameter count. ``"6nd"`` is ``F(N) = 2N`` (training ``6N`` per token, Hoffmann
  et al. 2022, Kaplan et al. 2020); ``"busbridge"`` is Busbridge et al. 2025 App. H eq. 69
  (training ``3 F(N)`` per token), from :func:`distillscale.flops.busbridge_forward_flops`.
* :class:`SupervisedSurface`: ``L(N, D)`` in nats per token.
* :class:`DistillationSurface`: ``L_S(N_S, D_S, L_T)`` with the supervised surface it uses for
  ``Ltilde_S = L(N_S, D_S)`` and for teachers (``L_T = L(N_T, D_T)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.flops import busbridge_forward_flops
from distillscale.laws import Law, get_law

__all__ = [
    "CONVENTIONS",
    "DistillationSurface",
    "FlopsConvention",
    "SupervisedSurface",
    "default_convention",
    "distillation_surface",
    "flops_convention",
    "supervised_surface",
]

Array = NDArray[np.float64]
ConventionName = Literal["6nd", "busbridge"]
#: FLOPs conventions the planner knows.
CONVENTIONS: tuple[str, ...] = ("6nd", "busbridge")

#: Laws whose published sets count compute as Busbridge et al. do (C = 3 F(N) D).
_BUSBRIDGE_LAWS = frozenset({"chinchilla-gamma", "distillation"})


def _two_n(n: ArrayLike) -> Array:
    return 2.0 * np.asarray(n, dtype=float)


def _busbridge(n: ArrayLike) -> Array:
    return np.asarray(busbridge_forward_flops(np.asarray(n, dtype=float)), dtype=float)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlopsConvention:
    """How a model of ``N`` (non-embedding) parameters costs FLOPs per token.

    Parameters
    ----------
    name : str
        ``"6nd"`` or ``"busbridge"`` (or a label for a custom callable).
    forward : callable
        ``N -> forward FLOPs per token`` (operations per token), vectorised.
    """

    name: str
    forward: Callable[[ArrayLike], Array]

    def train(self, n: ArrayLike) -> Array:
        """Training FLOPs per token, ``3 * forward(N)`` (backward = 2 x forward)."""
        return 3.0 * self.forward(n)


def flops_convention(name: str) -> FlopsConvention:
    """The FLOPs convention called ``name`` (``"6nd"`` or ``"busbridge"``).

    Raises
    ------
    InputError
        For any other name.
    """
    if name == "6nd":
        return FlopsConvention(name="6nd", forward=_two_n)
    if name == "busbridge":
        return FlopsConvention(name="busbridge", forward=_busbridge)
    raise InputError(
        f": not a FLOPs convention; use one of {', '.join(CONVENTIONS)}",
        subject=("flops", f"flops={name!r}", name),
    )


def default_convention(law: str) -> str:
    """The law's own compute convention: ``busbridge`` for Busbridge-style laws, else ``6nd``."""
    return "busbridge" if law in _BUSBRIDGE_LAWS else "6nd"


def _evaluator(law: Law, values: Mapping[str, float]) -> Callable[..., Array]:
    """``f(**inputs) -> prediction`` of ``law`` at fixed parameters, broadcasting its inputs.

    Skips :meth:`Law.predict`'s per-call validation: the planner calls this thousands of times
    with arrays it built itself.
    """
    theta = law.to_fitting(values)[None, :]  # (1, P)
    for p, t in zip(law.parameters, theta[0], strict=True):
        # The planner searches sizes and tokens over 1e6..1e17; inside the law's fitting box
        # that never overflows float64. Outside it (an exponent of -400) powers of N overflow.
        slack = 1e-9 * (1.0 + max(abs(p.lower), abs(p.upper)))  # a value saved at a bound
        if not p.lower - slack <= t <= p.upper + slack:
            lo, hi = (np.exp(p.lower), np.exp(p.upper)) if p.log_scale else (p.lower, p.upper)
            raise InputError(
                f"law {law.name!r}: parameter {p.name} = {float(values[p.name]):.6g} is outside "
                f"{lo:.3g}..{hi:.3g}, the range a fit of this law can reach; the planner cannot "
                "use it: refit, or check the fit file"
            )
    names = (*law.inputs, *law.derived_inputs)

    def evaluate(**x: ArrayLike) -> Array:
        arrays = np.broadcast_arrays(*[np.asarray(x[k], dtype=float) for k in names])
        flat = {k: a.ravel() for k, a in zip(names, arrays, strict=True)}
        return np.exp(law.log_predict(theta, flat)[0]).reshape(arrays[0].shape)

    return evaluate


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisedSurface:
    """A supervised law ``L(N, D)`` at fixed parameters, with its FLOPs convention.

    Parameters
    ----------
    law : str
        Law name (``"chinchilla"``, ``"chinchilla-gamma"``, ...).
    params : mapping
        Natural parameter values by name.
    loss_fn : callable
        ``(N, D) -> loss`` (nats per token), broadcasting; ``N`` parameters as the law was fitted
        (non-embedding for Busbridge sets, total for Hoffmann's), ``D`` tokens.
    flops : FlopsConvention
        How ``N`` costs FLOPs per token.
    """

    law: str
    params: Mapping[str, float]
    loss_fn: Callable[[Array, Array], Array]
    flops: FlopsConvention

    def loss(self, n: ArrayLike, d: ArrayLike) -> Array:
        """``L(N, D)`` in nats per token, broadcast over ``N`` and ``D``."""
        return self.loss_fn(np.asarray(n, dtype=float), np.asarray(d, dtype=float))

    @property
    def floor(self) -> float:
        """The irreducible loss ``E`` (nats per token), 0 for laws without one."""
        return float(self.params.get("E", 0.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class DistillationSurface:
    """The student law ``L_S(N_S, D_S, L_T)`` (Busbridge et al. 2025 Eq. 8) at fixed parameters.

    Parameters
    ----------
    supervised : SupervisedSurface
        The supervised law used for ``Ltilde_S = L(N_S, D_S)`` and for teachers.
    student_fn : callable
        ``(N_S, D_S, L_T) -> L_S`` (nats per token), broadcasting.
    """

    supervised: SupervisedSurface
    student_fn: Callable[[Array, Array, Array], Array]

    def student_loss(self, n_s: ArrayLike, d_s: ArrayLike, l_t: ArrayLike) -> Array:
        """Distilled student loss (nats per token) for student size, tokens and teacher loss."""
        return self.student_fn(
            np.asarray(n_s, dtype=float), np.asarray(d_s, dtype=float), np.asarray(l_t, dtype=float)
        )

    @property
    def flops(self) -> FlopsConvention:
        """The FLOPs convention (the supervised surface's)."""
        return self.supervised.flops


def supervised_surface(
    law: str, params: Mapping[str, float], flops: FlopsConvention | None = None
) -> SupervisedSurface:
    """A :class:`SupervisedSurface` for a registered law with inputs ``params`` and ``tokens``.

    Parameters
    ----------
    law : str
        Registered law name.
    params : mapping
        Natural parameter values by name.
    flops : FlopsConvention, optional
        Defaults to the law's own convention (:func:`default_convention`).

    Raises
    ------
    InputError
        When the law does not predict loss from ``params`` and ``tokens`` alone.
    """
    model = get_law(law)
    if tuple(model.inputs) != ("params", "tokens") or model.derived_inputs:
        raise InputError(
            f"fit law {law!r} predicts from {', '.join(model.inputs)}; planning a supervised "
            "optimum needs a law of params and tokens (chinchilla, chinchilla-gamma, kaplan)"
        )
    evaluate = _evaluator(model, params)

    def loss_fn(n: Array, d: Array) -> Array:
        return evaluate(params=n, tokens=d)

    return SupervisedSurface(
        law=law,
        params=dict(params),
        loss_fn=loss_fn,
        flops=flops or flops_convention(default_convention(law)),
    )


def distillation_surface(
    law: str, params: Mapping[str, float], supervised: SupervisedSurface
) -> DistillationSurface:
    """A :class:`DistillationSurface` for the registered ``distillation`` law.

    Parameters
    ----------
    law : str
        Must be a law with a ``teacher_loss`` input (``"distillation"``).
    params : mapping
        Natural parameter values of the student law by name.
    supervised : SupervisedSurface
        The supervised fit the student law uses for ``Ltilde_S``.
    """
    model = get_law(law)
    if "teacher_loss" not in model.inputs:
        raise InputError(
            f"fit law {law!r} has no teacher_loss input",
            hints=(
                (
                    "fit",
                    "distillation planning needs a 'distillation' fit, e.g. fit='@busbridge2025'",
                ),
            ),
        )
    evaluate = _evaluator(model, params)
    derived = set(model.derived_inputs)

    def student_fn(n_s: Array, d_s: Array, l_t: Array) -> Array:
        extra = {"supervised_loss": supervised.loss(n_s, d_s)} if derived else {}
        return evaluate(params=n_s, tokens=d_s, teacher_loss=l_t, **extra)

    return DistillationSurface(supervised=supervised, student_fn=student_fn)
