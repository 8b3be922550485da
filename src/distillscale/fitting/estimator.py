"""What every estimator (``huber-grid``, ``huber-mle``, ``least-squares``) shares.

An estimator is configured by keyword arguments (scikit-learn style: stored as attributes of
the same names, read back by :meth:`EstimatorBase.get_params`) and minimises the problem that
:func:`distillscale.fitting.prepare.prepare` builds from a run table.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from distillscale.fitting.prepare import Prepared, RunTableLike, prepare

if TYPE_CHECKING:
    from distillscale.fitting.constraints import BoundSpec, TieSpec
    from distillscale.fitting.prepare import FixedSpec
    from distillscale.fitting.result import Fit
    from distillscale.laws.base import Law

__all__ = ["EstimatorBase"]


class EstimatorBase:
    """Constructor arguments as attributes, and the problem built from a table."""

    law: str | Law
    delta: float | None
    fixed: FixedSpec | None
    bounds: BoundSpec | None
    ties: TieSpec | None
    supervised: Fit | str | None

    def get_params(self) -> dict[str, object]:
        """Constructor arguments by name (scikit-learn convention)."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]  # not self
        return {name: getattr(self, name) for name in names}

    def prepare(self, table: RunTableLike) -> Prepared:
        """The problem this estimator minimises on ``table``."""
        return prepare(
            table,
            law=self.law,
            delta=self.delta,
            fixed=self.fixed,
            supervised=self.supervised,
            bounds=self.bounds,
            ties=self.ties,
        )
