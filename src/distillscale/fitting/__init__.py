"""Estimators over laws and the :class:`Fit` result (numpy and scipy; no torch).

The summed Huber objective, ``huber-grid``, ``huber-mle`` and the bootstrap.

Estimators follow scikit-learn: ``__init__`` stores its arguments, ``fit(table)`` returns
``self`` and sets ``params_`` and ``result_``. :func:`fit` is the one-call API on top.
"""

from __future__ import annotations

from distillscale.fitting.api import ESTIMATORS, fit, predict
from distillscale.fitting.bootstrap import Bootstrap
from distillscale.fitting.huber_grid import HuberGrid
from distillscale.fitting.huber_mle import HuberMLE
from distillscale.fitting.result import Diagnostics, Fit, HoldoutRow, Prediction, load_fit

__all__ = [
    "ESTIMATORS",
    "Bootstrap",
    "Diagnostics",
    "Fit",
    "HoldoutRow",
    "HuberGrid",
    "HuberMLE",
    "Prediction",
    "fit",
    "load_fit",
    "predict",
]
