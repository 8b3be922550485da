"""Print how many fuzz cases each test of ``tests/fuzz`` tried (see ``_fuzz.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer.main

from ._fuzz import CASES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the number of fuzz cases tried, per test and in total."""
    if not CASES:
        return
    terminalreporter.section("fuzz cases")
    for name, n in sorted(CASES.items()):
        terminalreporter.write_line(f"{name}: {n}")
    terminalreporter.write_line(f"total fuzz cases: {sum(CASES.values())}")


@pytest.fixture(scope="module")
def fast_cli() -> Iterator[None]:
    """Build typer's click command once per module instead of once per ``main()`` call.

    ``typer.Typer.__call__`` rebuilds the whole command tree (about 0.2 s) on every call; the
    built tree holds no state between invocations, so caching it only makes ``main(argv)``
    cheap enough to call hundreds of times. ``main``'s own error handling runs unchanged.
    """
    built: dict[int, object] = {}
    original = typer.main.get_command

    def cached(typer_instance: typer.Typer) -> object:
        key = id(typer_instance)
        if key not in built:
            built[key] = original(typer_instance)
        return built[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.main, "get_command", cached)
        yield
