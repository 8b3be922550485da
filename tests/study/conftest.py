from __future__ import annotations

import pytest

from .specs import TINY


@pytest.fixture
def tiny_doc() -> dict:
    import copy

    return copy.deepcopy(TINY)
