"""Fixtures of the fault tests, and the tally they print: faults injected, runs lost or wrong.

Every test that injects a fault (a damaged file, a full disk) counts it with ``tally``; a study
test also counts the runs that did not end ``done`` (lost) and the runs whose loss differs
from an undisturbed run (silently wrong). The goal is 0 and 0.
"""

from __future__ import annotations

from collections import Counter

import pytest

TALLY: Counter[str] = Counter()


@pytest.fixture
def tally() -> Counter[str]:
    """The session's counters: ``faults``, ``lost``, ``wrong``."""
    return TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the tally when a fault test ran."""
    if not TALLY:
        return
    terminalreporter.section("faults")
    terminalreporter.write_line(
        f"faults injected: {TALLY['faults']}, runs lost: {TALLY['lost']}, "
        f"runs silently wrong: {TALLY['wrong']}"
    )
