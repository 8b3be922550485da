"""Shared settings of the fuzz suite and its case counter.

Every fuzz test is bounded by ``max_examples`` so that the whole suite runs in well under a
minute on two cores; set ``DISTILLSCALE_FUZZ_SCALE=10`` (an integer factor) for a longer hunt.
Each example calls :func:`count`; ``conftest.py`` prints the counts in the terminal summary.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings

#: Cases tried per test in this session (test name -> examples run, shrinking included).
CASES: Counter[str] = Counter()

SCALE = max(1, int(os.environ.get("DISTILLSCALE_FUZZ_SCALE", "1")))


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis settings for one fuzz test: bounded, no deadline, fixtures allowed."""
    return settings(
        max_examples=max_examples * SCALE,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


def count(name: str) -> None:
    """Record one case of the fuzz test ``name``."""
    CASES[name] += 1


def doc_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path into a JSON/YAML document (the places a mutation can hit)."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += doc_paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += doc_paths(v, (*prefix, i))
    return out
