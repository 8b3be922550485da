"""Prediction intervals: bootstrap plus residual scatter cover new noisy runs near nominal."""

from __future__ import annotations

import numpy as np
import pytest

import distillscale as ds
from distillscale.errors import InputError
from distillscale.fitting.intervals import N_QUANTILES, prediction_band, residual_quantiles

from ._synth import synthetic_table


@pytest.fixture(scope="module")
def boot_fit() -> ds.Fit:
    return ds.fit(synthetic_table("chinchilla", 100, seed=11), "chinchilla", bootstrap=60, seed=0)


def test_prediction_interval_covers_new_runs_near_nominal(boot_fit: ds.Fit) -> None:
    new = synthetic_table("chinchilla", 3000, seed=12)  # same design and 0.5% noise
    y = new["loss"].to_numpy()
    pred = boot_fit.predict(params=new["params"], tokens=new["tokens"], interval=True)
    assert pred.prediction_lower is not None and pred.prediction_upper is not None
    inside = (pred.prediction_lower <= y) & (y <= pred.prediction_upper)
    curve = (pred.lower <= y) & (y <= pred.upper)
    # The curve's confidence band carries parameter uncertainty only (~30% of new runs);
    # the prediction interval adds the residual scatter and covers ~90%.
    assert 0.85 <= inside.mean() <= 0.95
    assert curve.mean() < 0.6
    assert np.all(pred.prediction_lower <= pred.lower) and np.all(
        pred.upper <= pred.prediction_upper
    )


def test_residual_quantiles_round_trip_and_are_checked(boot_fit: ds.Fit) -> None:
    q = boot_fit.residual_quantiles
    assert q is not None and q.shape == (N_QUANTILES,) and np.all(np.diff(q) >= 0)
    # 0.5% log-normal noise: the 5%..95% residual range is about +-1.645 * 0.005
    assert q[95] - q[5] == pytest.approx(2 * 1.645 * 0.005, rel=0.25)
    doc = boot_fit.to_json()
    back = ds.Fit.from_json(doc)
    assert back.residual_quantiles is not None
    np.testing.assert_array_equal(back.residual_quantiles, q)
    for bad in (q[::-1].tolist(), [0.0] * 5, ["x"] * N_QUANTILES, 3):
        with pytest.raises(InputError, match="key 'residual_quantiles' is malformed"):
            ds.Fit.from_json({**doc, "residual_quantiles": bad})


def test_holdout_rows_carry_the_interval_and_coverage() -> None:
    frame = synthetic_table("chinchilla", 120, seed=13)
    fit = ds.fit(
        frame,
        "chinchilla",
        bootstrap=40,
        seed=0,
        train_where="params < 3e9",
        test_where="params >= 3e9",
    )
    rows = fit.holdout
    assert rows
    for h in rows:
        assert h.lower is not None and h.upper is not None
        assert h.inside == (h.lower <= h.observed <= h.upper)
    hit = sum(bool(h.inside) for h in rows)
    assert f"prediction interval covers {hit} of {len(rows)} held-out runs" in fit.summary()
    doc = fit.to_json()
    assert set(doc["holdout"][0]) == {
        "run", "observed", "predicted", "rel_error", "prediction_interval", "inside",
    }  # fmt: skip
    back = ds.Fit.from_json(doc)
    assert back.holdout == rows
    entry = dict(doc["holdout"][0], inside="yes")
    with pytest.raises(InputError, match=r"holdout\[0\].inside"):
        ds.Fit.from_json({**doc, "holdout": [entry]})


def test_band_is_the_percentile_of_every_resample_residual_pair() -> None:
    log_pred = np.log(np.array([[2.0], [2.2]]))
    q = np.array([-0.1, 0.0, 0.1])
    lo, hi = prediction_band(log_pred, q, 0.5)
    z = np.sort((log_pred[:, None, 0] + q[None, :]).ravel())
    assert lo[0] == pytest.approx(np.exp(np.percentile(z, 25)))
    assert hi[0] == pytest.approx(np.exp(np.percentile(z, 75)))
    # n residuals of a p-parameter fit are inflated by sqrt(n / (n - p)) about their median
    r = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(residual_quantiles(r, 1)[[0, -1]], [-np.sqrt(1.1), np.sqrt(1.1)])


def test_published_sets_have_no_prediction_interval() -> None:
    assert ds.load_fit("@hoffmann2022").residual_quantiles is None


def test_the_fitted_range_is_recorded_and_checked(boot_fit: ds.Fit) -> None:
    lo, hi = boot_fit.data_range["params"]  # type: ignore[index]
    frame = synthetic_table("chinchilla", 100, seed=11)
    assert (lo, hi) == (frame["params"].min(), frame["params"].max())
    doc = boot_fit.to_json()
    assert ds.Fit.from_json(doc).data_range == boot_fit.data_range
    for bad in ({"params": [2, 1]}, {"nope": [1, 2]}, [1, 2], {"params": ["a", 2]}):
        with pytest.raises(InputError, match="key 'data_range' is malformed"):
            ds.Fit.from_json({**doc, "data_range": bad})
