"""Session fixtures: the Busbridge et al. 2025 surfaces of ``_reference.py``."""

from __future__ import annotations

import pytest

from distillscale.planning.surfaces import DistillationSurface, SupervisedSurface

from ._reference import make_supervised, student_loss


@pytest.fixture(scope="session")
def busbridge_sup() -> SupervisedSurface:
    return make_supervised()


@pytest.fixture(scope="session")
def busbridge_dist() -> DistillationSurface:
    return DistillationSurface(supervised=make_supervised(), student_fn=student_loss)
