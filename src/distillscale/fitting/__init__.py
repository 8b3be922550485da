"""Estimators over laws and the :class:`Fit` result (numpy and scipy; no torch).

The summed Huber objective, ``huber-grid``, ``huber-mle``, ``least-squares`` and the bootstrap.

Estimators follow scikit-learn: ``__init__`` stores its arguments, ``fit(table)`` returns
``self`` and sets ``params_`` and ``result_``. :func:`fit` is the one-call API on top.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distillscale.fitting.api import ESTIMATORS, fit, predict
    from distillscale.fitting.bootstrap import Bootstrap
    from distillscale.fitting.fit_warning import FitWarning
    from distillscale.fitting.huber_grid import HuberGrid
    from distillscale.fitting.huber_mle import HuberMLE
    from distillscale.fitting.least_squares import LeastSquares
    from distillscale.fitting.result import Diagnostics, Fit, HoldoutRow, Prediction, load_fit

# Public name -> defining module, imported on first use: loading a fit (``fitting.result``, numpy
# only) must not pay for scipy and pandas, which the estimators need (CLI start-up time).
_LAZY = {
    "ESTIMATORS": "api",
    "fit": "api",
    "predict": "api",
    "Bootstrap": "bootstrap",
    "FitWarning": "fit_warning",
    "HuberGrid": "huber_grid",
    "HuberMLE": "huber_mle",
    "LeastSquares": "least_squares",
    "Diagnostics": "result",
    "Fit": "result",
    "HoldoutRow": "result",
    "Prediction": "result",
    "load_fit": "result",
}

__all__ = [
    "ESTIMATORS",
    "Bootstrap",
    "Diagnostics",
    "Fit",
    "FitWarning",
    "HoldoutRow",
    "HuberGrid",
    "HuberMLE",
    "LeastSquares",
    "Prediction",
    "fit",
    "load_fit",
    "predict",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'distillscale.fitting' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"distillscale.fitting.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
