"""From a run table to a :class:`~.objective.Problem`, and from an optimum back to a Fit.

Shared by every estimator and the bootstrap: resolves the law, delta, fixed parameters
(``{"c1": 522.6, "f1": "@busbridge2025"}``) and the supervised fit that supplies the
distillation law's ``supervised_loss``; checks that there are at least as many runs as free
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import InputError
from distillscale.fitting.constraints import (
    BoundSpec,
    TieSpec,
    constrain,
    resolve_bounds,
    resolve_ties,
    tie_theta,
)
from distillscale.fitting.diagnostics import diagnose
from distillscale.fitting.extrapolation import data_range
from distillscale.fitting.intervals import residual_quantiles
from distillscale.fitting.objective import Problem
from distillscale.fitting.result import Fit, load_fit, package_version
from distillscale.laws import get_law
from distillscale.laws.base import Law

__all__ = [
    "Prepared",
    "RunTableLike",
    "build_fit",
    "prepare",
    "resolve_fixed",
    "resolve_law",
    "run_ids",
]

FixedSpec = Mapping[str, float | str]


class RunTableLike(Protocol):
    """What the fitter reads from :class:`distillscale.table.RunTable`."""

    @property
    def source(self) -> str:
        """Where the table came from (path or ``"DataFrame"``)."""
        ...

    @property
    def sha256(self) -> str:
        """Hash of the table's content."""
        ...

    def column(self, name: str) -> NDArray[np.float64]:
        """A numeric column as float64, shape (n,)."""
        ...

    def __len__(self) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """Everything an estimator needs to minimise.

    Parameters
    ----------
    problem : Problem
        Law (constrained by the user's bounds and ties, when given), inputs, log observations
        and delta.
    free : ndarray of bool, shape (P,)
        Fitted (True), or held fixed or tied to another parameter (False).
    base : ndarray, shape (P,)
        Fitting-space vector holding the fixed values (free entries are placeholders).
    fixed : dict of str to float
        Fixed parameters, natural values.
    supervised : Fit or None
        Fit giving ``supervised_loss`` (distillation law).
    data_sha256 : str
        Hash of the fitted table.
    bounds : dict of str to (float, float)
        User bounds, natural units (``--bound``).
    ties : dict of str to str
        Tied parameter -> the parameter whose value it takes (``--tie``).
    """

    problem: Problem
    free: NDArray[np.bool_]
    base: NDArray[np.float64]
    fixed: dict[str, float]
    supervised: Fit | None
    data_sha256: str
    bounds: dict[str, tuple[float, float]]
    ties: dict[str, str]

    @property
    def law(self) -> Law:
        """The law being fitted."""
        return self.problem.law


def resolve_law(law: str | Law) -> Law:
    """A :class:`Law` from its name or itself."""
    return law if isinstance(law, Law) else get_law(str(law))


def resolve_fixed(
    law: Law, fixed: FixedSpec | None, *, where: str | None = None
) -> dict[str, float]:
    """Natural values of fixed parameters; ``"@name"`` takes the value from a published set.

    ``where`` names the spec key in error messages; without it the error's subject is the
    ``fixed`` argument (``--fix`` on the command line).

    Raises
    ------
    InputError
        Unknown parameter, a value that is not a number, a set without that parameter, or a
        non-positive value for a parameter fitted in log space.
    """
    out: dict[str, float] = {}
    for name, value in (fixed or {}).items():
        if name not in law.param_names:
            raise _fixed_error(
                where,
                name,
                "...",
                f"law {law.name!r} has no parameter {name!r}; "
                f"its parameters are {', '.join(law.param_names)}",
            )
        if isinstance(value, str) and value.strip().startswith("@"):
            source = load_fit(value.strip())
            if source.law != law.name or name not in source.params:
                raise _fixed_error(
                    where,
                    name,
                    value,
                    f"that set is for law {source.law!r}, "
                    f"not {law.name!r}; give a number or a set of law {law.name!r}",
                )
            out[name] = float(source.params[name])
            continue
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            raise _fixed_error(
                where,
                name,
                repr(value),
                f"not a number; give a value ({name}=0.5) "
                f"or a published set ({name}=@busbridge2025)",
            ) from None
        if not np.isfinite(out[name]):
            raise _fixed_error(where, name, repr(value), "must be finite")
        if law.log_mask[law.param_names.index(name)] and out[name] <= 0:
            raise _fixed_error(where, name, repr(value), f"{name} must be > 0")
    return out


def _fixed_error(where: str | None, name: str, shown: str, message: str) -> InputError:
    """``fixed={'E': 0}: ...`` (``--fix E=0: ...`` on the command line), or ``KEY: E=0: ...``."""
    if where is not None:
        return InputError(f"{where} {name}={shown}: {message}")
    python = f"fixed={{{name!r}: {shown}}}"
    return InputError(f": {message}", subject=("fixed", python, f"{name}={shown}"))


def run_ids(table: RunTableLike) -> list[str]:
    """Run identifiers: the ``run`` column when present, else ``row <index>``."""
    frame = getattr(table, "frame", None)
    if frame is not None and "run" in frame.columns:
        return [str(v) for v in frame["run"].tolist()]
    return [f"row {i}" for i in range(len(table))]


def prepare(
    table: RunTableLike,
    *,
    law: str | Law,
    delta: float | None,
    fixed: FixedSpec | None,
    supervised: Fit | str | None,
    bounds: BoundSpec | None = None,
    ties: TieSpec | None = None,
) -> Prepared:
    """Build the problem an estimator minimises.

    Raises
    ------
    InputError
        A bad delta, fixed parameter, bound, tie or supervised fit, or fewer runs than free
        parameters.
    """
    law_obj = resolve_law(law)
    d = law_obj.default_delta if delta is None else float(delta)
    if not (np.isfinite(d) and d > 0):
        raise InputError(
            ": must be a positive number (Huber threshold)",
            subject=("delta", f"delta={delta}", f"{delta}"),
        )
    fixed_values = resolve_fixed(law_obj, fixed)
    bound_values = resolve_bounds(law_obj, bounds, fixed=fixed_values)
    tie_values = resolve_ties(law_obj, ties, fixed=fixed_values, bounds=bound_values)
    sup = _supervised(law_obj, supervised)
    x = {k: np.asarray(table.column(k), dtype=float) for k in law_obj.inputs}
    if sup is not None:
        x["supervised_loss"] = sup.predict(params=x["params"], tokens=x["tokens"])
    y = np.asarray(table.column(law_obj.output), dtype=float)
    constrained = constrain(law_obj, bound_values, tie_values)
    problem = Problem(law=constrained, x=x, log_y=np.log(y), delta=d)
    free = np.array([n not in fixed_values and n not in tie_values for n in law_obj.param_names])
    base = np.zeros(len(free))
    for i, name in enumerate(law_obj.param_names):
        if name in fixed_values:
            v = fixed_values[name]
            if law_obj.log_mask[i]:
                v = float(np.log(v))  # resolve_fixed checked v > 0
            base[i] = v
    n_free = int(free.sum())
    if problem.n_points < n_free:
        raise InputError(
            f"{table.source}: {problem.n_points} runs but law {law_obj.name!r} has {n_free} free "
            f"parameters; fit needs at least as many runs as free parameters",
            hints=(
                ("fixed", "add runs, widen where=, or hold parameters with fixed={NAME: VALUE}"),
            ),
        )
    return Prepared(
        problem=problem,
        free=free,
        base=base,
        fixed=fixed_values,
        supervised=sup,
        data_sha256=table.sha256,
        bounds=bound_values,
        ties=tie_values,
    )


def _supervised(law: Law, supervised: Fit | str | None) -> Fit | None:
    if "supervised_loss" not in law.derived_inputs:
        if supervised is not None:
            raise InputError(
                f" is only for the distillation law, not {law.name!r}; drop it",
                subject=("supervised", "supervised=", ""),
            )
        return None
    if supervised is None:
        raise InputError(
            f"law {law.name!r} needs the supervised law at the student's size and tokens",
            hints=(
                (
                    "supervised",
                    "give supervised=Fit|'FIT.json'|'@busbridge2025-supervised', or a table "
                    "with a 'kind' column whose teacher/baseline rows fit the supervised law",
                ),
            ),
        )
    fit = supervised if isinstance(supervised, Fit) else load_fit(supervised)
    if fit.law_obj.derived_inputs:
        raise InputError(
            f": law {fit.law!r} is not a supervised law; give a chinchilla or chinchilla-gamma fit",
            subject=(
                "supervised",
                f"supervised={fit.source or fit.law!r}",
                f"{fit.source or fit.law}",
            ),
        )
    return fit


def build_fit(
    prep: Prepared,
    theta: NDArray[np.float64],
    *,
    estimator: str,
    objective: float,
    converged: bool,
    scale: float | None = None,
) -> Fit:
    """A :class:`Fit` (no intervals yet) with diagnostics at ``theta``."""
    law = prep.law
    theta = tie_theta(law, theta)
    diag, cov = diagnose(prep.problem, theta, free=prep.free, converged=converged)
    with np.errstate(all="ignore"):
        resid = law.log_predict(theta[None, :], prep.problem.x)[0] - prep.problem.log_y
    return Fit(
        law=law.name,
        params={**law.from_fitting(theta), **prep.fixed},  # fixed values exactly as given
        ci=None,
        ci_level=None,
        estimator=estimator,
        delta=prep.problem.delta,
        objective=objective,
        n_points=prep.problem.n_points,
        diagnostics=diag,
        supervised=prep.supervised,
        data_sha256=prep.data_sha256,
        version=package_version(),
        param_names=law.param_names,
        covariance=cov,
        fixed=dict(prep.fixed),
        scale=scale,
        residual_quantiles=residual_quantiles(resid, int(prep.free.sum())),
        bounds=dict(prep.bounds) or None,
        ties=dict(prep.ties) or None,
        data_range=data_range(prep.problem.x, law.inputs),
    )
