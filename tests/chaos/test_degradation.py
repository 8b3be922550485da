"""Degradation of a real study: diverged runs, runs blocked by them, laws with too few runs."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from .harness import run_cli, tiny_spec, write_spec


def _store(study: Path) -> dict[str, dict]:
    conn = sqlite3.connect(study / "store.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return {r["run_id"]: dict(r) for r in conn.execute("SELECT * FROM runs")}
    finally:
        conn.close()


@pytest.mark.slow  # two real study passes; tests/study checks the same with a fake trainer
def test_diverged_runs_fail_once_are_left_out_and_missing_runs_are_named(tmp_path, corpus):
    # lr 1.0 without clipping or warmup: the depth-2 teacher and the student of the depth-1
    # teacher blow past 2 ln(V) within a few steps (which runs diverge is up to the trainer;
    # the checks below hold for any split into diverged and finished runs)
    doc = tiny_spec(
        corpus,
        teachers={"depths": [1, 2], "tokens_per_param": [0.1]},
        students={"depths": [1], "tokens": [1024], "teachers": "all"},
        training={"lr": 1.0, "grad_clip": 0.0, "warmup": 0.0},
    )
    spec = write_spec(tmp_path / "diverge.yaml", doc)
    study = tmp_path / "study"
    first = run_cli(spec, study)
    rows = _store(study)
    runs = {k: r for k, r in rows.items() if r["kind"] != "cache"}
    failed = {  # diverged; runs blocked by them are failed too, as 'not run: ...' (below)
        k: r
        for k, r in runs.items()
        if r["status"] == "failed" and not r["failure_reason"].startswith("not run:")
    }
    done = {k: r for k, r in runs.items() if r["status"] == "done"}
    assert failed and done, {k: r["status"] for k, r in runs.items()}
    for run_id, r in failed.items():
        # a diverged run is failed at once with its reason, and not retried
        assert r["failure_reason"].startswith("diverged at step"), r["failure_reason"]
        assert "lower the learning rate" in r["failure_reason"]
        assert r["attempts"] == 1 and r["loss"] is None, r
        attempts = (study / "runs" / run_id / "attempts.log").read_text().splitlines()
        assert len(attempts) == 1, attempts

    # students of a diverged teacher are never trained, and say why
    dead_teachers = {k for k, r in failed.items() if r["kind"] == "teacher"}
    blocked = [r for r in runs.values() if r["teacher_run_id"] in dead_teachers]
    assert blocked, "expected a student blocked by a diverged teacher"
    blocked_reasons = [v for k, v in first["failures"].items() if v.startswith("not run:")]
    assert len(blocked_reasons) == len(blocked)
    assert all("its dependency cache<d2-m0.1 failed" in v for v in blocked_reasons)
    for r in blocked:
        assert not (study / "runs" / r["run_id"] / "attempts.log").exists()
        assert r["status"] == "failed" and r["failure_reason"] in blocked_reasons, r
    assert first["failed"] == len(first["failures"]) == len(failed) + len(blocked)

    # the run table keeps failed runs, without a loss
    with open(study / "runs.csv", newline="") as fh:
        table = {r["run"]: r for r in csv.DictReader(fh)}
    for run_id in failed:
        assert table[run_id]["status"] == "failed" and table[run_id]["loss"] == ""
    for run_id, r in done.items():
        assert float(table[run_id]["loss"]) == r["loss"]

    # fits: failed runs left out with a warning; the skipped law names its missing runs
    notes = json.loads((study / "fits" / "notes.json").read_text())
    for run_id, r in failed.items():
        assert f"{r['kind']} run {run_id} failed; left out of the fits" in notes["warnings"]
    supervised_done = sum(1 for r in done.values() if r["kind"] in ("teacher", "baseline"))
    assert notes["skipped"]["supervised"] == (
        f"{supervised_done} finished runs; law 'chinchilla' has 5 free parameters and needs "
        "at least 6"
    )
    missing = notes["missing"]["supervised"]
    for run_id, r in failed.items():
        if r["kind"] in ("teacher", "baseline"):
            assert any(run_id in m and ": failed: diverged at step" in m for m in missing)
    for r in blocked + [r for r in failed.values() if r["kind"] == "student"]:
        assert any(r["run_id"] in m for m in notes["missing"]["distillation"])
    for r in blocked:
        assert any(
            r["run_id"] in m and m.endswith(f": failed: {r['failure_reason']}")
            for m in notes["missing"]["distillation"]
        )
    assert not (study / "fits" / "supervised.json").exists()

    # a rerun trains nothing: diverged runs are final, blocked ones stay blocked
    again = run_cli(spec, study)
    assert again["trained"] == 0, again
    assert again["failures"] == first["failures"]
    assert _store(study) == rows


def test_too_small_a_study_says_how_many_runs_each_law_needs(reference):
    notes = json.loads((reference / "fits" / "notes.json").read_text())
    assert notes["skipped"] == {
        "distillation": "2 finished runs; law 'distillation' has 9 free parameters and needs "
        "at least 10"
    }
    assert notes["missing"] == {"distillation": []}  # every run finished: the grid is small
    fit = json.loads((reference / "fits" / "supervised.json").read_text())
    assert fit["law"] == "chinchilla" and fit["n_points"] == 6
