from __future__ import annotations

import json

import pytest
from rich.console import Console

from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec

from .fakes import NAN_MARKER, fast_run_fn

FIT_DOC = {
    "name": "fitme",
    "data": {"seq_len": 16},
    "model": {"aspect": 16, "head_dim": 16},
    "teachers": {"depths": [1, 2, 3, 4], "tokens_per_param": [0.1, 0.4]},
    "students": {"depths": [1, 2], "tokens": [2048, 8192], "teachers": ["d2-m0.4", "d4-m0.4"]},
    "baselines": {"match": "flops", "scenario": "teacher-inference"},
    "training": {"batch_size": 4},
    "executor": {"workers": 2, "lease_seconds": 2},
    "fit": {
        "bootstrap": 0,
        "holdout": 0.2,
        "fix": {"c1": "@busbridge2025", "f1": "@busbridge2025"},
    },
    "report": False,
}


@pytest.mark.slow
def test_finish_fits_recover_the_fake_truth_and_plan(tmp_path):
    console = Console(stderr=True, record=True, width=200)
    run_study(parse_spec(FIT_DOC), tmp_path / "s", console=console, run_fn=fast_run_fn())
    sup = json.loads((tmp_path / "s" / "fits" / "supervised.json").read_text())
    assert sup["schema"] == "distillscale.fit/1"
    # fakes.true_loss: 1.5 + 40 / N^0.3 + 60 / D^0.3
    assert sup["params"]["E"] == pytest.approx(1.5, rel=0.02)
    assert sup["params"]["alpha"] == pytest.approx(0.3, rel=0.05)
    assert sup["params"]["beta"] == pytest.approx(0.3, rel=0.05)
    assert sup["holdout"] and all(abs(h["rel_error"]) < 0.01 for h in sup["holdout"])
    dist = json.loads((tmp_path / "s" / "fits" / "distillation.json").read_text())
    assert dist["law"] == "distillation"
    assert dist["params"]["c1"] == pytest.approx(522.6)
    notes = json.loads((tmp_path / "s" / "fits" / "notes.json").read_text())
    assert notes["fixed"] == {"c1": "@busbridge2025", "f1": "@busbridge2025"}
    assert any("fixed, not fitted" in w for w in notes["warnings"])
    plan = json.loads((tmp_path / "s" / "plan.json").read_text())
    assert len(plan["students"]) == 4  # 2 sizes x 2 token budgets
    for entry in plan["students"]:
        assert entry["verdict"] in ("distill", "supervised")
        assert entry["margin"] == pytest.approx(
            entry["student_loss_supervised"] - entry["student_loss_distilled"]
        )
    out = console.export_text()
    assert "supervised fit (chinchilla" in out and "plan:" in out


@pytest.mark.slow
def test_supervised_fix_holds_the_supervised_law_parameters(tmp_path):
    doc = dict(FIT_DOC, fit=dict(FIT_DOC["fit"], supervised_fix={"alpha": 0.3, "E": 1.5}))
    console = Console(stderr=True, record=True, width=200)
    run_study(parse_spec(doc), tmp_path / "s", console=console, run_fn=fast_run_fn())
    sup = json.loads((tmp_path / "s" / "fits" / "supervised.json").read_text())
    assert sup["params"]["alpha"] == 0.3 and sup["params"]["E"] == 1.5
    assert sup["fixed"] == {"alpha": 0.3, "E": 1.5}
    # the free ones still recover fakes.true_loss: 1.5 + 40 / N^0.3 + 60 / D^0.3
    assert sup["params"]["beta"] == pytest.approx(0.3, rel=0.02)
    assert sup["params"]["A"] == pytest.approx(40, rel=0.05)
    notes = json.loads((tmp_path / "s" / "fits" / "notes.json").read_text())
    assert notes["supervised_fixed"] == {"alpha": 0.3, "E": 1.5}
    assert any("fit.supervised_fix" in w for w in notes["warnings"])


def test_too_few_runs_says_which_are_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(NAN_MARKER, "1")  # depth-1 baselines diverge
    doc = dict(FIT_DOC, teachers={"depths": [1, 2], "tokens_per_param": [0.4]})
    doc["students"] = {"depths": [1], "tokens": [2048]}
    console = Console(stderr=True, record=True, width=200)
    run_study(parse_spec(doc), tmp_path / "s", console=console, run_fn=fast_run_fn())
    notes = json.loads((tmp_path / "s" / "fits" / "notes.json").read_text())
    assert "needs at least 6" in notes["skipped"]["supervised"]
    assert any("baseline" in m and "failed" in m for m in notes["missing"]["supervised"])
    assert not (tmp_path / "s" / "fits" / "supervised.json").exists()
    assert any("left out of the fits" in w for w in notes["warnings"])
    assert "missing: baseline" in console.export_text()


@pytest.mark.slow
def test_fit_estimator_least_squares_is_used_by_the_study(tmp_path):
    doc = dict(FIT_DOC, fit=dict(FIT_DOC["fit"], estimator="least-squares"))
    console = Console(stderr=True, record=True, width=200)
    run_study(parse_spec(doc), tmp_path / "s", console=console, run_fn=fast_run_fn())
    sup = json.loads((tmp_path / "s" / "fits" / "supervised.json").read_text())
    assert sup["estimator"] == "least-squares"
    # fakes.true_loss: 1.5 + 40 / N^0.3 + 60 / D^0.3
    assert sup["params"]["E"] == pytest.approx(1.5, rel=0.02)
    assert sup["params"]["beta"] == pytest.approx(0.3, rel=0.05)
    dist = json.loads((tmp_path / "s" / "fits" / "distillation.json").read_text())
    assert dist["estimator"] == "least-squares"
