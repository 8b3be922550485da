"""A run store's exported table, imported back, gives the same rows (and the same file)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from distillscale.cli import main
from distillscale.flops import FlopsLedger
from distillscale.runs_import import import_runs
from distillscale.runs_import.select import best_per, last_per
from distillscale.study.store import RunOutcome, RunSpecRecord, open_store


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    store_path = tmp_path / "runs.sqlite"
    with open_store(store_path) as store:
        store.register(RunSpecRecord(run_id="t", kind="teacher", config="{}", study="a",
                                     params=1000, tokens=20000))  # fmt: skip
        for i, (n, d) in enumerate([(100, 4000), (300, 4000), (100, 8000)]):
            store.register(RunSpecRecord(run_id=f"s{i}", kind="student", config="{}", study="a",
                                         params=n, tokens=d, teacher_run_id="t"))  # fmt: skip
        for run_id, loss in (("t", 2.0), ("s0", 2.5), ("s1", 2.25), ("s2", 2.4)):
            assert store.claim(run_id, "w", 60)
            ledger = FlopsLedger(student_training=6.0 * 1000 * 20000 * loss)
            assert store.complete(run_id, "w", RunOutcome(loss=loss, flops=ledger))
    out = tmp_path / "export.csv"
    assert main(["runs", "export", "--store", str(store_path), "-o", str(out)]) == 0
    return out


def test_export_import_gives_identical_rows(exported: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.csv"
    assert main(["runs", "import", str(exported), "-o", str(again)]) == 0
    before = pd.read_csv(exported)
    after = pd.read_csv(again)
    empty = [c for c in before.columns if before[c].isna().all()]
    before = before.drop(columns=empty)
    assert list(after.columns[:5]) == ["run", "params", "tokens", "loss", "flops"]  # canonical
    pd.testing.assert_frame_equal(before, after[before.columns], check_dtype=False)
    assert len(after) == 4 and set(empty).isdisjoint(after.columns)  # all-empty: not written
    # importing the imported table changes nothing, byte for byte
    third = tmp_path / "third.csv"
    assert main(["runs", "import", str(again), "-o", str(third)]) == 0
    assert third.read_bytes() == again.read_bytes()
    jsonl = tmp_path / "again.jsonl"
    assert main(["runs", "import", str(again), "-o", str(jsonl)]) == 0
    assert import_runs(jsonl).rows == import_runs(again).rows


def test_selection_without_pandas() -> None:
    rows = [
        {"run": "a", "params": 1.0, "tokens": 2.0, "lr": 1e-3, "loss": 3.0, "step": 1},
        {"run": "a", "params": 1.0, "tokens": 2.0, "lr": 1e-3, "loss": 2.9, "step": 2},
        {"run": "b", "params": 1.0, "tokens": 2.0, "lr": 3e-3, "loss": 2.8, "step": 2},
        {"run": "b", "params": 1.0, "tokens": 2.0, "lr": 3e-3, "loss": 2.7, "step": 1},
        {"run": "c", "params": 5.0, "tokens": 2.0, "lr": 3e-3, "loss": 2.5, "step": 7},
    ]
    wheres = [f"row {i}" for i in range(len(rows))]
    last, w = last_per(rows, wheres, ["run"])
    assert last == [rows[1], rows[2], rows[4]] and w == ["row 1", "row 2", "row 4"]
    best, _ = best_per(last, w, ["params", "tokens"], "loss")
    assert best == [rows[2], rows[4]]
    best_any, _ = best_per(rows, wheres, ["params"], "loss")  # without last: any step
    assert best_any == [rows[3], rows[4]]
