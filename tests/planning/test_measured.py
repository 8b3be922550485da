"""Verdicts on measured runs (planning.measured), as a study's plan.json states them."""

from __future__ import annotations

import pytest

from distillscale.fitting import load_fit
from distillscale.planning import compare_measured, verdict_of


def test_verdict_of_is_the_sign_of_the_margin():
    assert verdict_of(0.1) == "distill"
    assert verdict_of(0.0) == "supervised"
    assert verdict_of(-0.1) == "supervised"


def test_measured_margin_and_verdict_without_fits():
    c = compare_measured(
        student_params=7248,
        student_tokens=2048,
        distilled_loss=9.766,
        teacher_run="t1",
        teacher_label="d4-m0.4",
        teacher_loss=4.316,
        teacher_params=262848,
        supervised_loss=7.411,
        supervised_tokens=18816,
    )
    doc = c.to_json()
    assert list(doc) == [
        "student_params",
        "student_tokens",
        "best_teacher_run",
        "best_teacher_loss",
        "best_teacher_params",
        "student_loss_distilled",
        "student_loss_supervised",
        "supervised_tokens",
        "margin",
        "verdict",
    ]
    assert doc["margin"] == pytest.approx(7.411 - 9.766)
    assert doc["verdict"] == "supervised"
    assert doc["student_params"] == 7248 and isinstance(doc["student_params"], int)
    assert c.text() == (
        "N_S=7.25e+03, D_S=2.05e+03: SUPERVISED: distilled from teacher d4-m0.4 (L_T 4.316) "
        "9.766 vs supervised 7.411 nats at matched compute (margin -2.355)"
    )


def test_no_baseline_means_no_verdict_and_no_prediction():
    dist = load_fit("@busbridge2025")
    c = compare_measured(
        student_params=1e8,
        student_tokens=2e9,
        distilled_loss=2.7,
        teacher_loss=2.0,
        supervised=dist.supervised,
        distillation=dist,
    )
    assert c.margin is None and c.verdict is None and c.predicted_verdict is None
    assert "predicted_verdict" not in c.to_json()
    assert c.text() == (
        "N_S=1e+08, D_S=2e+09: best distilled 2.700 nats from its teacher; no finished "
        "compute-matched baseline to compare"
    )


@pytest.mark.parametrize(("teacher_loss", "predicted"), [(2.0, "distill"), (3.2, "supervised")])
def test_the_fitted_laws_verdict(teacher_loss, predicted):
    dist = load_fit("@busbridge2025")
    sup = dist.supervised
    assert sup is not None
    c = compare_measured(
        student_params=1e8,
        student_tokens=2e9,
        distilled_loss=2.8,
        teacher_run="t",
        teacher_label="big",
        teacher_loss=teacher_loss,
        supervised_loss=2.9,
        supervised_tokens=4e9,
        supervised=sup,
        distillation=dist,
    )
    assert c.predicted_supervised == pytest.approx(sup.predict(params=1e8, tokens=4e9))
    assert c.predicted_distilled == pytest.approx(
        dist.predict(params=1e8, tokens=2e9, teacher_loss=teacher_loss)
    )
    assert c.predicted_verdict == predicted
    assert c.verdict == "distill"  # measured: 2.9 - 2.8 > 0
    doc = c.to_json()
    assert list(doc)[-3:] == ["predicted_distilled", "predicted_supervised", "predicted_verdict"]
    assert c.text().endswith(
        f"; the fitted laws predict {c.predicted_distilled:.3f} vs "
        f"{c.predicted_supervised:.3f} ({predicted})"
    )
