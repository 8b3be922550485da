"""Parameter recovery from synthetic runs with 0.5% noise, and bootstrap coverage."""

from __future__ import annotations

import numpy as np
import pytest

import distillscale as ds
from distillscale.fitting import Bootstrap, HuberGrid

from ._synth import TRUTH, synthetic_table

SUPERVISED = ["chinchilla", "chinchilla-gamma", "kaplan", "overtrain", "downstream"]


@pytest.mark.parametrize("estimator", ["huber-grid", "huber-mle"])
@pytest.mark.parametrize("law", SUPERVISED)
def test_recovers_coefficients_within_bootstrap_interval(law: str, estimator: str) -> None:
    frame = synthetic_table(law, 120, noise=0.005, seed=11)
    fit = ds.fit(frame, law, estimator=estimator, bootstrap=40, ci=0.99, seed=0)
    truth = ds.load_fit(TRUTH[law]).params
    for name, log_scale in zip(fit.param_names, fit.law_obj.log_mask, strict=True):
        value = truth[name]
        lo, hi = fit.ci[name]
        assert lo <= value <= hi, (name, value, (lo, hi))
        if log_scale:  # scale coefficients: within a factor of 2
            assert abs(np.log(fit.params[name] / value)) < np.log(2), name
        else:  # exponents and offsets: within 10%
            assert fit.params[name] == pytest.approx(value, rel=0.1), name
    assert fit.diagnostics.converged
    assert fit.bootstrap_samples.shape == (40, len(truth))


def test_ninety_percent_intervals_cover_about_ninety_percent() -> None:
    """6 synthetic data sets x 5 parameters; K=50 resamples each (bench: more repetitions)."""
    truth = ds.load_fit(TRUTH["chinchilla"]).params
    hits = []
    widths = []
    for rep in range(6):
        table = ds.read_runs(synthetic_table("chinchilla", 60, noise=0.005, seed=100 + rep))
        boot = Bootstrap(HuberGrid("chinchilla"), n_resamples=50, ci=0.9, seed=rep).fit(table)
        for name, value in truth.items():
            lo, hi = boot.ci_[name]
            hits.append(lo <= value <= hi)
        widths.append((boot.ci_["alpha"][1] - boot.ci_["alpha"][0]) / truth["alpha"])
    coverage = float(np.mean(hits))
    assert 0.7 <= coverage <= 1.0, coverage
    assert float(np.median(widths)) < 0.2  # informative, not absurdly wide


def test_bootstrap_is_seeded() -> None:
    table = ds.read_runs(synthetic_table("overtrain", 40, seed=2))
    a = Bootstrap(HuberGrid("overtrain"), n_resamples=15, seed=7).fit(table)
    b = Bootstrap(HuberGrid("overtrain"), n_resamples=15, seed=7).fit(table)
    c = Bootstrap(HuberGrid("overtrain"), n_resamples=15, seed=8).fit(table)
    np.testing.assert_array_equal(a.samples_, b.samples_)
    assert not np.array_equal(a.samples_, c.samples_)


def test_fixed_parameter_is_held_and_rest_refit() -> None:
    frame = synthetic_table("chinchilla", 60, noise=0.0, seed=3)
    truth = ds.load_fit(TRUTH["chinchilla"]).params
    fit = ds.fit(frame, "chinchilla", fixed={"E": "@besiroglu2024", "alpha": truth["alpha"]})
    assert fit.params["E"] == truth["E"] and fit.params["alpha"] == truth["alpha"]
    assert fit.fixed == {"E": truth["E"], "alpha": truth["alpha"]}
    for name in ("A", "B", "beta"):
        assert fit.params[name] == pytest.approx(truth[name], rel=1e-4)
    wrong = ds.fit(frame, "chinchilla", fixed={"E": 1.5})
    assert wrong.params["E"] == 1.5 and wrong.objective > fit.objective


def test_at_bound_is_reported() -> None:
    frame = synthetic_table("chinchilla", 40, noise=0.0, seed=3)
    law = ds.fit(frame, "chinchilla").law_obj
    lower = law.lower.copy()
    upper = law.upper.copy()
    upper[3] = 0.3  # alpha's true value 0.348 lies above this artificial bound
    starts = np.clip(law.start_grid(), lower, upper)

    class Narrow(type(law)):  # type: ignore[misc]
        parameters = tuple(
            type(p)(name=p.name, log_scale=p.log_scale, lower=p.lower, upper=0.3, grid=(0.0, 0.3))
            if p.name == "alpha"
            else p
            for p in law.parameters
        )

    est = HuberGrid(Narrow(), starts=np.unique(starts, axis=0)).fit(ds.read_runs(frame))
    diag = est.result_.diagnostics
    assert diag.at_bound == ("alpha",)
    assert any("alpha fitted at its upper bound 0.3" in str(w) for w in diag.warnings)
