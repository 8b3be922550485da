"""Busbridge et al. 2025 Table 6 surfaces from the plain formulas of ``busbridge_reference``.

They let the solvers be tested on their own, independently of the law registry;
``test_surfaces.py`` checks that the registry-built surfaces agree with them.
"""

from __future__ import annotations

from busbridge_reference import DIST, SUP, student_loss
from busbridge_reference import supervised_loss as sup_loss
from distillscale.planning.surfaces import (
    FlopsConvention,
    SupervisedSurface,
    flops_convention,
)

__all__ = ["DIST", "SUP", "make_supervised", "student_loss", "sup_loss"]


def make_supervised(flops: FlopsConvention | None = None) -> SupervisedSurface:
    return SupervisedSurface(
        law="chinchilla-gamma",
        params=SUP,
        loss_fn=sup_loss,
        flops=flops or flops_convention("busbridge"),
    )
