from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .harness import run_cli, tiny_spec, write_corpus, write_spec


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.txt")


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    """An undisturbed study with the chaos spec (local executor); its directory."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the chaos harness finds worker processes through /proc (Linux only)")
    base = tmp_path_factory.mktemp("reference")
    spec = write_spec(base / "chaos.yaml", tiny_spec(corpus))
    result = run_cli(spec, base / "study")
    assert result["done"] == result["runs"] == 8 and result["trained"] == 9, result
    return base / "study"
