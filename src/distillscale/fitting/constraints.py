"""User constraints on a fit: bounds (``--bound E=0.5:3``) and ties (``--tie alpha=beta``).

Both become a *constrained law*: a :class:`~distillscale.laws.base.Law` with the base law's
name, inputs and formula, whose bounds are the user's (in fitting space: logs for scale
parameters) and whose start grid keeps only the starts inside them. Every estimator, the
bootstrap and the diagnostics read bounds from the law they are given, so one constrained law
applies the constraints everywhere, including the ``at_bound`` check.

A tie ``alpha=beta`` makes alpha a copy of beta: the constrained law evaluates the base law at
theta with alpha's column replaced by beta's, and its Jacobian adds alpha's column to beta's
(chain rule), so beta is the one free parameter both share. The fitter holds alpha out of the
free set, as for a fixed parameter, and writes alpha = beta into the fit. Bounds are in natural
units (``E=0.5:3`` means 0.5 <= E <= 3 nats per token) and must lie inside the law's own range
(``distillscale laws``), which is also where the planner accepts a fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import InputError
from distillscale.laws.base import Law, Param

__all__ = [
    "BoundSpec",
    "ConstrainedLaw",
    "TieSpec",
    "constrain",
    "parse_bound",
    "read_bounds",
    "read_ties",
    "resolve_bounds",
    "resolve_ties",
    "tie_theta",
]

BoundSpec = Mapping[str, tuple[float, float]]
TieSpec = Mapping[str, str]


def _natural_range(law: Law, i: int) -> tuple[float, float]:
    p = law.parameters[i]
    if p.log_scale:
        return math.exp(p.lower), math.exp(p.upper)
    return p.lower, p.upper


def _bound(name: str, pair: object, item: str) -> tuple[str, str, str]:
    """A bound as an error's subject: ``bounds={'E': (0.5, 3)}``, ``--bound E=0.5:3``."""
    return ("bounds", f"bounds={{{name!r}: {pair!r}}}", item)


def _tie(tied: str, source: str) -> tuple[str, str, str]:
    """A tie as an error's subject: ``ties={'alpha': 'beta'}``, ``--tie alpha=beta``."""
    return ("ties", f"ties={{{tied!r}: {source!r}}}", f"{tied}={source}")


def _unknown(law: Law, subject: tuple[str, str, str], name: str) -> InputError:
    return InputError(
        f": law {law.name!r} has no parameter {name!r}; its parameters are "
        f"{', '.join(law.param_names)}",
        subject=subject,
    )


def parse_bound(text: str, flag: str = "--bound") -> tuple[str, tuple[float, float]]:
    """``"E=0.5:3"`` -> ``("E", (0.5, 3.0))``; malformed text names the flag and the fix.

    The flag's own parser, called only by the command line (Python callers pass ``bounds=``
    directly), so its errors name ``flag`` and what was typed after it.
    """
    name, sep, rest = text.partition("=")
    lo_text, colon, hi_text = rest.partition(":")
    try:
        if not (sep and colon and name.strip()):
            raise ValueError
        return name.strip(), (float(lo_text), float(hi_text))
    except ValueError:
        raise InputError(
            f"{flag} {text!r}: expected NAME=LO:HI in natural units, e.g. {flag} E=0.5:3"
        ) from None


def resolve_bounds(
    law: Law,
    bounds: BoundSpec | None,
    *,
    fixed: Mapping[str, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """Checked bounds in natural units.

    Raises
    ------
    InputError
        Unknown parameter, not two finite numbers, lo >= hi, outside the law's range, a
        non-positive bound of a scale parameter, or a bound on a fixed parameter.
    """
    out: dict[str, tuple[float, float]] = {}
    for name, pair in (bounds or {}).items():
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise InputError(
                ": expected two numbers (LO, HI), e.g. 0.5:3",
                subject=_bound(name, pair, f"{name}={pair!r}"),
            ) from None
        subject = _bound(name, pair, f"{name}={lo:g}:{hi:g}")
        if name not in law.param_names:
            raise _unknown(law, subject, name)
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise InputError(": need finite LO < HI", subject=subject)
        if fixed and name in fixed:
            raise InputError(
                f": {name} is held fixed, so a bound has no effect; drop one of them",
                subject=subject,
            )
        i = law.param_names.index(name)
        if law.parameters[i].log_scale and lo <= 0:
            raise InputError(f": {name} is a scale parameter and must be > 0", subject=subject)
        low, high = _natural_range(law, i)
        slack = 1e-9 * max(1.0, abs(low), abs(high))
        if lo < low - slack or hi > high + slack:
            raise InputError(
                f": outside the range of law {law.name!r} for {name}, "
                f"{low:.6g}..{high:.6g}; give a bound inside it",
                subject=subject,
            )
        out[name] = (lo, hi)
    return out


def resolve_ties(
    law: Law,
    ties: TieSpec | None,
    *,
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, str]:
    """Checked ties ``{tied: source}``: ``tied`` takes the value of ``source``.

    Raises
    ------
    InputError
        Unknown names, a parameter tied to itself, a chain (the source is itself tied, or the
        tied one is a source), a fixed or bounded tied parameter, a fixed source, or a scale
        parameter tied to an exponent (they are fitted on different scales).
    """
    out: dict[str, str] = {}
    ties = dict(ties or {})
    for tied, source in ties.items():
        subject = _tie(tied, source)
        for name in (tied, source):
            if name not in law.param_names:
                raise _unknown(law, subject, name)
        if tied == source:
            raise InputError(": a parameter cannot be tied to itself", subject=subject)
        if source in ties or tied in ties.values():
            raise InputError(
                ": ties cannot chain",
                subject=subject,
                hints=(
                    ("ties", "tie every parameter to the same one, e.g. ties={'a': 'c', 'b': 'c'}"),
                ),
            )
        for name in (tied, source):
            if fixed and name in fixed:
                raise InputError(
                    f": {name} is held fixed; fix both instead of tying", subject=subject
                )
        if bounds and tied in bounds:
            raise InputError(
                f": {tied} takes {source}'s value; bound {source} instead", subject=subject
            )
        i, j = law.param_names.index(tied), law.param_names.index(source)
        if law.parameters[i].log_scale != law.parameters[j].log_scale:
            raise InputError(
                f": {tied} and {source} are fitted on different scales (one is a "
                "positive scale parameter fitted as its log, the other is not); tie like to like",
                subject=subject,
            )
        out[tied] = source
    return out


class ConstrainedLaw(Law):
    """A law with user bounds and ties; see the module docstring. Build it with :func:`constrain`.

    Parameters
    ----------
    base : Law
        The law it constrains (its formula and names).
    ties : tuple of (int, int)
        (tied index, source index) pairs in ``param_names`` order.
    """

    def __init__(self, base: Law, ties: tuple[tuple[int, int], ...]) -> None:
        self.base = base
        self.ties = ties

    def tie(self, theta: NDArray[np.float64]) -> NDArray[np.float64]:
        """Copy each source column into its tied column, shape (P,) or (S, P)."""
        if not self.ties:
            return theta
        out = np.array(theta, dtype=float, copy=True)
        for t, s in self.ties:
            out[..., t] = out[..., s]
        return out

    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """The base law at tied parameters, shape (S, n)."""
        return self.base.log_predict(self.tie(theta), x)

    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Value (S, n) and Jacobian (S, n, P); a tied column's derivative goes to its source."""
        value, jac = self.base.log_predict_grad(self.tie(theta), x)
        if self.ties:
            jac = jac.copy()
            for t, s in self.ties:
                jac[..., s] += jac[..., t]
                jac[..., t] = 0.0
        return value, jac


def _param(p: Param, lo: float, hi: float) -> Param:
    """``p`` with fitting-space bounds [lo, hi]; starts outside are dropped (3 if < 2 remain)."""
    inside = tuple(g for g in p.grid if lo <= g <= hi)
    if len(inside) < 2:
        inside = (lo, 0.5 * (lo + hi), hi)
    return replace(p, lower=lo, upper=hi, grid=inside)


def constrain(
    law: Law,
    bounds: Mapping[str, tuple[float, float]] | None,
    ties: Mapping[str, str] | None,
) -> Law:
    """``law`` itself without constraints, else a :class:`ConstrainedLaw` (checked inputs).

    A tie's source keeps the intersection of its own bounds and its tied parameter's, so the
    shared value is valid for both.
    """
    if not bounds and not ties:
        return law
    names = law.param_names
    params = list(law.parameters)
    for name, (lo, hi) in (bounds or {}).items():
        i = names.index(name)
        p = params[i]
        f_lo, f_hi = (math.log(lo), math.log(hi)) if p.log_scale else (lo, hi)
        params[i] = _param(p, max(f_lo, p.lower), min(f_hi, p.upper))
    pairs = tuple((names.index(t), names.index(s)) for t, s in (ties or {}).items())
    for t, s in pairs:
        lo, hi = max(params[s].lower, params[t].lower), min(params[s].upper, params[t].upper)
        if not lo < hi:
            raise InputError(
                ": their ranges do not overlap; loosen the bounds", subject=_tie(names[t], names[s])
            )
        if (lo, hi) != (params[s].lower, params[s].upper):
            params[s] = _param(params[s], lo, hi)
    attrs: dict[str, Any] = {
        "name": law.name,
        "form": law.form,
        "citation": law.citation,
        "inputs": law.inputs,
        "derived_inputs": law.derived_inputs,
        "output": law.output,
        "parameters": tuple(params),
        "default_delta": law.default_delta,
    }
    cls = type(f"Constrained{type(law).__name__}", (ConstrainedLaw,), attrs)
    constrained: ConstrainedLaw = cls(law, pairs)
    return constrained


def tie_theta(law: Law, theta: NDArray[np.float64]) -> NDArray[np.float64]:
    """Fitting-space ``theta`` (P,) or (S, P) with tied parameters set; unchanged otherwise."""
    return law.tie(theta) if isinstance(law, ConstrainedLaw) else theta


def read_bounds(where: str, value: Any, law: Law) -> dict[str, tuple[float, float]]:
    """The artifact's ``bounds`` (``{"E": [0.5, 3.0]}``), checked like ``--bound``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(v, list) and len(v) == 2 for v in value.values()
    ):
        raise InputError(
            f"{where}: key 'bounds' is malformed: expected an object of [low, high] pairs, "
            'e.g. {"E": [0.5, 3]}'
        )
    try:
        return resolve_bounds(law, {str(k): (v[0], v[1]) for k, v in value.items()})
    except InputError as exc:
        raise InputError(f"{where}: key 'bounds': {exc}") from None


def read_ties(where: str, value: Any, law: Law) -> dict[str, str]:
    """The artifact's ``ties`` (``{"alpha": "beta"}``), checked like ``--tie``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise InputError(
            f"{where}: key 'ties' is malformed: expected an object of parameter names, "
            'e.g. {"alpha": "beta"}'
        )
    try:
        return resolve_ties(law, {str(k): v for k, v in value.items()})
    except InputError as exc:
        raise InputError(f"{where}: key 'ties': {exc}") from None
