from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import distillscale
from distillscale.errors import InputError
from distillscale.fitting import Fit, load_fit
from distillscale.fitting.result import Diagnostics
from distillscale.planning import (
    CompareToLoss,
    DistillationPlan,
    ScenarioTable,
    SupervisedPlan,
    hardware,
)

DISTILL_KEYS = {
    "mode",
    "scenario",
    "compute",
    "students",
    "student_params",
    "student_tokens",
    "teacher_params",
    "teacher_tokens",
    "teacher_loss",
    "student_loss",
    "supervised_loss",
    "verdict",
    "margin",
    "p_distill_wins",
    "flops",
}
SUPERVISED_KEYS = {"mode", "compute", "params", "tokens", "tokens_per_param", "loss", "interval"}


def test_public_api_is_lazy_and_defaults_to_busbridge():
    p = distillscale.plan(compute=1e21)
    assert isinstance(p, distillscale.Plan)
    assert isinstance(p, SupervisedPlan)
    assert p.fit == "@busbridge2025"
    assert p.flops_convention == "busbridge"
    doc = json.loads(json.dumps(p.to_json()))
    assert SUPERVISED_KEYS <= set(doc)
    assert doc["mode"] == "supervised"
    assert doc["interval"] is None


def test_distillation_plan_json_follows_conventions():
    p = distillscale.plan(compute=1e21, student_params=546e6, scenario="teacher-inference")
    assert isinstance(p, DistillationPlan)
    doc = json.loads(json.dumps(p.to_json()))
    assert DISTILL_KEYS <= set(doc)
    assert set(doc["flops"]) == {"student", "teacher_inference", "teacher_pretraining"}
    assert doc["p_distill_wins"] is None  # published set: no resamples
    assert doc["verdict"] == "distill"
    assert doc["margin"] == pytest.approx(doc["supervised_loss"] - doc["student_loss"])
    assert sum(doc["flops"].values()) == pytest.approx(1e21, rel=1e-9)
    assert doc["optimal_teacher"]["student_loss"] <= doc["student_loss"] + 1e-12
    assert len(doc["capacity_gap"]) == 41


def test_default_scenarios():
    full = distillscale.plan(compute=1e21, student_params=546e6)
    assert full.recipe.scenario == "teacher-pretraining-inference"
    with_teacher = distillscale.plan(
        compute=1e21, student_params=546e6, teacher_loss=2.2, teacher_params=2e9
    )
    assert with_teacher.recipe.scenario == "teacher-inference"
    assert with_teacher.recipe.teacher_loss == 2.2
    by_loss = distillscale.plan(compute=1e21, student_params=546e6, teachers=[2.6, 2.2, 2.0])
    assert by_loss.recipe.scenario == "teacher-free"
    c = by_loss.teacher_choice
    assert by_loss.recipe.teacher_loss == c.teacher_losses[c.best]
    assert by_loss.recipe.student_loss == min(c.student_losses)


def test_scenario_table_and_cost():
    t = distillscale.plan(
        compute=1e21, student_params=1.82e9, scenario="all", hardware=hardware("a100")
    )
    assert isinstance(t, ScenarioTable)
    assert [p.recipe.scenario for p in t.plans] == [
        "teacher-free",
        "teacher-inference",
        "teacher-pretraining",
        "teacher-pretraining-inference",
    ]
    losses = [p.recipe.student_loss for p in t.plans]
    # more teacher cost charged -> never a better student
    assert losses[0] <= losses[1] <= losses[3] and losses[0] <= losses[2] <= losses[3]
    assert t.plans[0].cost.device_hours == pytest.approx(1e21 / (312e12 * 0.4) / 3600)
    doc = json.loads(json.dumps(t.to_json()))
    assert doc["mode"] == "scenarios" and len(doc["plans"]) == 4


def test_target_loss_modes():
    sup = distillscale.plan(target_loss=2.2)
    assert sup.objective == "target-loss"
    assert sup.loss == pytest.approx(2.2, abs=1e-9)
    aware = distillscale.plan(target_loss=2.2, inference_tokens=1e13)
    assert aware.objective == "inference-aware"
    assert aware.params < sup.params
    cmp = distillscale.plan(target_loss=2.4, student_params=546e6, scenario="teacher-inference")
    assert isinstance(cmp, CompareToLoss)
    assert cmp.result.ratio < 1
    assert cmp.to_json()["distillation_compute"] < cmp.to_json()["supervised_compute"]


def test_threshold_in_plan():
    p = distillscale.plan(
        compute=1e21, student_params=546e6, scenario="teacher-free", threshold=True
    )
    assert p.threshold.kind == "crossover"
    assert p.to_json()["threshold"]["compute"] == pytest.approx(1.98e22, rel=0.02)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"compute": 1e21, "student_params": 546e6, "fit": "@kaplan2020"}, "distillation"),
        ({"compute": 1e21, "student_params": 546e6, "fit": "@hoffmann2022"}, "distillation"),
        ({"compute": -1e21}, "compute="),
        ({"compute": 1e21, "target_loss": 2.0}, "exactly one"),
        ({}, "exactly one"),
        ({"target_loss": 1.0}, "floor E"),
        ({"target_loss": 1.0, "student_params": 546e6}, "floor E"),
        ({"compute": 1e21, "scenario": "teacher-free"}, "student_params="),
        ({"compute": 1e21, "inference_tokens": 1e12}, "target_loss="),
        ({"compute": 1e21, "student_params": 546e6, "scenario": "x"}, "scenario="),
        (
            {"compute": 1e21, "student_params": 546e6, "teachers": [2.1], "teacher_loss": 2.0},
            "teachers=",
        ),
        (
            {
                "compute": 1e21,
                "student_params": 546e6,
                "teachers": [2.1],
                "scenario": "teacher-inference",
            },
            "teachers=",
        ),
        (
            {"compute": 1e21, "student_params": 546e6, "teachers": [2.1], "scenario": "all"},
            "teachers=",
        ),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        distillscale.plan(**kwargs)


def _with_samples(fit: Fit, samples: np.ndarray, supervised: Fit | None = None) -> Fit:
    return Fit(
        law=fit.law,
        params=dict(fit.params),
        ci=None,
        ci_level=0.9,
        estimator="huber-grid",
        delta=1e-3,
        objective=0.0,
        n_points=100,
        diagnostics=Diagnostics(converged=True),
        supervised=supervised,
        bootstrap_samples=samples,
        param_names=fit.law_obj.param_names,
        source="synthetic",
    )


def _jitter(fit: Fit, k: int, scale: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    point = np.array([fit.params[n] for n in fit.law_obj.param_names])
    return point * np.exp(scale * rng.standard_normal((k, point.size)))


def test_degenerate_bootstrap_gives_point_intervals_and_certain_verdict():
    pub = load_fit("@busbridge2025")
    assert pub.supervised is not None
    sup_pt = np.tile([pub.supervised.params[n] for n in pub.supervised.law_obj.param_names], (5, 1))
    dist_pt = np.tile([pub.params[n] for n in pub.law_obj.param_names], (5, 1))
    fit = _with_samples(pub, dist_pt, _with_samples(pub.supervised, sup_pt))
    p = distillscale.plan(fit, compute=1e21, student_params=546e6, scenario="teacher-inference")
    assert p.p_distill_wins == 1.0
    lo, hi = p.interval["student_loss"]
    assert lo == pytest.approx(p.recipe.student_loss, abs=1e-12)
    assert hi == pytest.approx(p.recipe.student_loss, abs=1e-12)


def test_bootstrap_intervals_and_probability():
    pub = load_fit("@busbridge2025")
    sup = _with_samples(pub.supervised, _jitter(pub.supervised, 24, 0.01, 1))
    fit = _with_samples(pub, _jitter(pub, 24, 0.01, 2), sup)
    p = distillscale.plan(fit, compute=1e21, student_params=546e6, scenario="teacher-inference")
    for key in ("student_loss", "supervised_loss", "margin", "teacher_params"):
        lo, hi = p.interval[key]
        assert lo < hi
    assert 0.0 <= p.p_distill_wins <= 1.0
    doc = p.to_json()
    assert doc["interval"]["margin"][0] < doc["interval"]["margin"][1]
    # the same resamples always give the same answer
    again = distillscale.plan(fit, compute=1e21, student_params=546e6, scenario="teacher-inference")
    assert again.interval == p.interval


def test_supervised_bootstrap_interval_brackets_point():
    pub = load_fit("@besiroglu2024")
    fit = _with_samples(pub, _jitter(pub, 200, 0.02, 3))
    p = distillscale.plan(fit, compute=5.88e23)
    lo, hi = p.interval["tokens_per_param"]
    assert lo < p.tokens_per_param < hi
    capped = distillscale.plan(fit, compute=5.88e23, max_samples=10)
    assert capped.interval != p.interval


def test_planning_imports_without_torch_or_matplotlib():
    code = (
        "import sys, distillscale.planning, distillscale.cli.plan_cmd;"
        "bad = [m for m in ('torch', 'matplotlib', 'ray') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_warnings_flag_extrapolation_only():
    normal = distillscale.plan(compute=1e21, student_params=546e6, scenario="teacher-inference")
    assert normal.warnings == ()
    assert normal.to_json()["warnings"] == []
    tiny = distillscale.plan(target_loss=2.4, student_params=546e6, scenario="teacher-free")
    assert tiny.result.recipe.student_tokens / 546e6 < 1
    assert any("extrapolation" in w for w in tiny.warnings)


def test_end_to_end_with_a_bootstrapped_fit_artifact(tmp_path):
    from distillscale.cli import main

    data = str(Path(__file__).resolve().parents[2] / "examples/data/chinchilla.csv")
    fitted = distillscale.fit(
        data, law="chinchilla", estimator="huber-mle", bootstrap=10, seed=0, where="outlier == 0"
    )
    path = fitted.save(tmp_path / "fit.json")
    p = distillscale.plan(str(path), compute=5.88e23)
    # Epoch's estimate (docs/references.md: Chinchilla): 18.33 tokens/param at Chinchilla's compute
    assert p.tokens_per_param == pytest.approx(18.33, abs=0.05)
    lo, hi = p.interval["tokens_per_param"]
    assert lo < p.tokens_per_param < hi
    assert main(["plan", "--fit", str(path), "--compute", "5.88e23", "--json"]) == 0


def test_intervals_skip_a_given_teachers_fixed_numbers():
    pub = load_fit("@busbridge2025")
    sup = _with_samples(pub.supervised, _jitter(pub.supervised, 6, 0.01, 4))
    fit = _with_samples(pub, _jitter(pub, 6, 0.01, 5), sup)
    p = distillscale.plan(fit, compute=1e21, student_params=546e6, teachers=[2.0, 2.2])
    assert set(p.interval) == {"student_tokens", "student_loss", "supervised_loss", "margin"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # overflow in exp in the student law: was student_loss null and a RuntimeWarning
        ({"student_params": 1e8, "compute": 1e21, "teacher_loss": 1e-320}, "teacher_loss="),
        ({"student_params": 1e8, "compute": 1e21, "teacher_loss": 1e3}, "teacher_loss="),
        (
            {"student_params": 1e8, "compute": 1e21, "teachers": [2.1, 1e-320]},
            r"teachers\[1\]=1e-320",
        ),
        # log of zero tokens before the range check: now the range check comes first
        ({"student_params": 1e8, "compute": 1e-320, "teachers": [2.1, 2.3]}, "compute="),
        ({"student_params": 1e8, "compute": 1e12, "teachers": [2.1, 2.3]}, "compute="),
        ({"student_params": 1e20, "compute": 1e21, "teachers": [2.1, 2.3]}, "student_params="),
    ],
)
def test_out_of_range_values_are_refused_before_the_law_is_evaluated(kwargs, match):
    with pytest.raises(InputError, match=match):
        distillscale.plan(**kwargs)


def test_inference_aware_optimum_at_the_token_bound_has_no_warning():
    # scipy's Brent polish used to see inf next to the best cell ("invalid value encountered in
    # scalar subtract"); the optimum sits at the 1e17-token edge of the feasible region.
    p = distillscale.plan(target_loss=2.5, inference_tokens=1e21).to_json()
    assert p["loss"] == pytest.approx(2.5, rel=1e-9)
    assert 0.99e17 <= p["tokens"] <= 1e17
    assert p["params"] == pytest.approx(1.1497e8, rel=1e-3)


def _edited_fit(tmp_path, **params):
    doc = load_fit("@hoffmann2022").to_json()
    doc["params"].update(params)
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("params", "name"), [({"alpha": -400.0}, "alpha"), ({"alpha": 0.0, "A": 1e308}, "A")]
)
def test_a_fit_outside_the_laws_range_is_refused_naming_the_file(tmp_path, params, name):
    # alpha = -400 gave complex numbers in the closed form (exit 1); A = 1e308 a division by 0
    path = _edited_fit(tmp_path, **params)
    with pytest.raises(InputError, match=rf"^fit='{path}': law 'chinchilla': parameter {name} ="):
        distillscale.plan(str(path), compute=1e21)


def test_an_exponent_at_its_zero_bound_plans_numerically(tmp_path):
    # the closed form divides by alpha; at alpha = 0 (a fit at its bound) the search answers
    # (A = 1: with Hoffmann's A = 406 the flat term alone predicts 408 nats, refused below)
    p = distillscale.plan(str(_edited_fit(tmp_path, alpha=0.0, A=1.0)), compute=1e21).to_json()
    assert p["method"] == "numerical"
    assert p["params"] * p["tokens"] * 6 == pytest.approx(1e21, rel=1e-9)
    assert p["params"] == pytest.approx(1e6, rel=1e-6)  # N does not help: the smallest model


def test_an_absurd_planned_loss_is_refused(tmp_path):
    # issue 9: alpha = 0 makes A/N^alpha = 406 nats at any size; the plan printed it silently
    with pytest.raises(
        InputError, match=r"fit.json: predicted loss 408.1 nats per token is absurd"
    ):
        distillscale.plan(str(_edited_fit(tmp_path, alpha=0.0)), compute=1e21)


def test_a_plan_far_outside_the_fitted_range_warns():
    near = distillscale.plan("@besiroglu2024", compute=1e21)
    assert not any("extrapolation" in w for w in near.warnings)
    far = distillscale.plan("@besiroglu2024", compute=1e26).to_json()
    assert any(w.startswith("params N* 1.02e+12 is more than 10x beyond") for w in far["warnings"])
    assert any(w.startswith("tokens D* 1.64e+13 is more than 10x beyond") for w in far["warnings"])
