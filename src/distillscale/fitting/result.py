"""The fit result: :class:`Fit` and its parts, the JSON artifact, the text view (one import).

The code lives in small modules: :mod:`~distillscale.fitting.record` (the records and
prediction), :mod:`~distillscale.fitting.artifact` (the ``distillscale.fit/1`` document:
writing, reading, :func:`load_fit`), :mod:`~distillscale.fitting.text` (summary) and
:mod:`~distillscale.fitting.notebook` (HTML and frames). This module keeps the names users and
the command line import from ``distillscale.fitting.result``.
"""

from __future__ import annotations

from distillscale.fitting.artifact import load_fit
from distillscale.fitting.record import (
    SCHEMA,
    Diagnostics,
    Fit,
    HoldoutRow,
    Prediction,
    package_version,
)
from distillscale.fitting.text import holdout_coverage

__all__ = [
    "SCHEMA",
    "Diagnostics",
    "Fit",
    "HoldoutRow",
    "Prediction",
    "holdout_coverage",
    "load_fit",
    "package_version",
]
