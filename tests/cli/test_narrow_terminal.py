"""At 80 columns the rich tables never cut the names users copy: @sets and run ids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from distillscale.laws import list_published
from distillscale.study.store import RunSpecRecord, open_store


def _run_at_80(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-c", "from distillscale.cli import run; run()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def _whole_tokens(text: str) -> set[str]:
    return {tok.strip("│┃|") for line in text.splitlines() for tok in line.split()}


def test_laws_shows_every_set_name_whole() -> None:
    err = _run_at_80("laws")
    assert max(len(line) for line in err.splitlines()) <= 80
    tokens = _whole_tokens(err)
    missing = ["@" + name for name in list_published() if "@" + name not in tokens]
    assert not missing, f"cut or wrapped at 80 columns: {missing}\n{err}"
    assert "…" not in err


def test_runs_list_shows_long_run_ids_whole(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    ids = [f"quickstart/student-d{i}-teacher-d4-tokens-2e5-kd-forward-kl" for i in (1, 2)]
    with open_store(path) as store:
        for run_id in ids:
            store.register(
                RunSpecRecord(run_id=run_id, kind="student", config="{}", study="quickstart",
                              params=123456, tokens=200000)
            )  # fmt: skip
    err = _run_at_80("runs", "list", "--store", str(path))
    tokens = _whole_tokens(err)
    assert all(run_id in tokens for run_id in ids), err
