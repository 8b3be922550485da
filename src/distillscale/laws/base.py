"""The :class:`Law` interface: parameters, bounds, fitting space, start grid and prediction.

A law is pure math over numpy arrays. Fitting works in a *fitting space* where positive scale
parameters (``A``, ``B``, ``E``, ...) are stored as natural logs (``log_scale=True``) and the
rest (exponents) as they are; bounds and the start grid are given in that space. Losses are in
nats per token; ``params`` and ``tokens`` are counts.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError

__all__ = ["Law", "Param"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One law parameter.

    Parameters
    ----------
    name : str
        Paper name (``"E"``, ``"alpha"``).
    log_scale : bool
        Fitted as its natural log (positive scale parameters).
    lower, upper : float
        Bounds in fitting space (on the log when ``log_scale``).
    grid : tuple of float
        Default starting values in fitting space (published grid where one exists).
    """

    name: str
    log_scale: bool
    lower: float
    upper: float
    grid: tuple[float, ...]


class Law(abc.ABC):
    """A scaling law: subclasses set the class attributes and implement the two log methods.

    ``inputs`` names the run-table columns the law reads (``"params"``, ``"tokens"``, ...).
    ``derived_inputs`` names inputs the fitter supplies itself (the distillation law's
    ``supervised_loss``, the supervised law evaluated at the student's N and D).
    """

    name: ClassVar[str]
    form: ClassVar[str]
    citation: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    derived_inputs: ClassVar[tuple[str, ...]] = ()
    output: ClassVar[str] = "loss"
    parameters: ClassVar[tuple[Param, ...]]
    default_delta: ClassVar[float] = 1e-3

    def __repr__(self) -> str:
        return f"<law {self.name!r}: {self.form}>"

    # --- names and spaces -------------------------------------------------------------
    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in fitting order."""
        return tuple(p.name for p in self.parameters)

    @property
    def lower(self) -> NDArray[np.float64]:
        """Lower bounds in fitting space, shape (P,)."""
        return np.array([p.lower for p in self.parameters], dtype=float)

    @property
    def upper(self) -> NDArray[np.float64]:
        """Upper bounds in fitting space, shape (P,)."""
        return np.array([p.upper for p in self.parameters], dtype=float)

    @property
    def log_mask(self) -> NDArray[np.bool_]:
        """True where a parameter is fitted as its log, shape (P,)."""
        return np.array([p.log_scale for p in self.parameters], dtype=bool)

    def to_fitting(self, values: Mapping[str, float]) -> NDArray[np.float64]:
        """Natural parameter values -> fitting-space vector, shape (P,)."""
        missing = [n for n in self.param_names if n not in values]
        if missing:
            raise InputError(
                f"law {self.name!r} needs parameters {', '.join(missing)} "
                f"(it has {', '.join(self.param_names)})"
            )
        raw = np.array([float(values[n]) for n in self.param_names])
        mask = self.log_mask
        if np.any(raw[mask] <= 0):
            bad = [n for n, m, v in zip(self.param_names, mask, raw, strict=True) if m and v <= 0]
            raise InputError(f"law {self.name!r}: parameters {', '.join(bad)} must be > 0")
        out = raw.copy()
        out[mask] = np.log(raw[mask])
        return out

    def from_fitting(self, theta: ArrayLike) -> dict[str, float]:
        """Fitting-space vector, shape (P,) -> natural parameter values by name."""
        t = np.asarray(theta, dtype=float)
        vals = np.where(self.log_mask, np.exp(t), t)
        return {n: float(v) for n, v in zip(self.param_names, vals, strict=True)}

    def start_grid(self) -> NDArray[np.float64]:
        """Cartesian product of every parameter's grid, shape (G, P), fitting space."""
        axes = [np.asarray(p.grid, dtype=float) for p in self.parameters]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    # --- prediction -----------------------------------------------------------------------
    @abc.abstractmethod
    def log_predict(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """Log of the prediction, vectorised over parameter sets.

        Parameters
        ----------
        theta : ndarray, shape (S, P)
            S parameter vectors in fitting space.
        x : mapping of str to ndarray, shape (n,)
            The law's ``inputs`` and ``derived_inputs`` as float arrays.

        Returns
        -------
        ndarray, shape (S, n)
            log of the predicted output (log nats per token for loss laws).
        """

    @abc.abstractmethod
    def log_predict_grad(
        self, theta: NDArray[np.float64], x: Mapping[str, NDArray[np.float64]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Log prediction and its analytic Jacobian in fitting space.

        Returns
        -------
        value : ndarray, shape (S, n)
        jac : ndarray, shape (S, n, P)
            d value / d theta.
        """

    def predict(self, values: Mapping[str, float], **x: ArrayLike) -> NDArray[np.float64]:
        """Predicted output (loss in nats per token, or error) at the given inputs.

        Parameters
        ----------
        values : mapping
            Natural parameter values by name.
        **x : array_like
            The law's inputs, broadcast together (``params`` non-embedding or total as the
            coefficient set was fitted, ``tokens`` count, ``teacher_loss`` nats per token).
        """
        needed = (*self.inputs, *self.derived_inputs)
        missing = [k for k in needed if k not in x]
        if missing:
            raise InputError(f"law {self.name!r} needs {', '.join(missing)} to predict")
        arrays = np.broadcast_arrays(*[np.asarray(x[k], dtype=float) for k in needed])
        shape = arrays[0].shape
        flat = {k: a.ravel() for k, a in zip(needed, arrays, strict=True)}
        theta = self.to_fitting(values)[None, :]
        return np.exp(self.log_predict(theta, flat)[0]).reshape(shape)
