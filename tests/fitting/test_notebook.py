"""Notebook views: Fit/Prediction ``to_frame()`` and ``_repr_html_``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from distillscale import load_fit
from distillscale.fitting import Diagnostics, Prediction


def test_fit_frame_has_one_row_per_parameter_with_intervals() -> None:
    fit = load_fit("@busbridge2025")
    frame = fit.to_frame()
    assert list(frame.index) == list(fit.law_obj.param_names)
    assert list(frame.columns) == [
        "value", "ci_low", "ci_high", "fixed", "at_bound", "poorly_determined"]  # fmt: skip
    assert frame.loc["c1", "value"] == 522.6 and frame.loc["A", "ci_low"] == fit.ci["A"][0]
    bare = load_fit("@hoffmann2022")
    assert bare.ci is None and bare.to_frame()["ci_low"].isna().all()


def test_fit_html_shows_parameters_diagnostics_and_nested_fit() -> None:
    fit = load_fit("@busbridge2025")
    flagged = replace(
        fit,
        diagnostics=Diagnostics(converged=False, at_bound=("f1",), warnings=("B & <beta>",)),
    )
    text = flagged._repr_html_()
    assert text.startswith("<div") and "<th>interval 90%</th>" in text
    assert "<td>522.6</td>" in text and "at bound" in text and "not converged" in text
    assert "B &amp; &lt;beta&gt;" in text  # escaped
    assert "supervised fit" in text and text.count("<table>") == 2


def test_prediction_frame_and_html() -> None:
    pred = Prediction(
        value=np.array([[2.0, 2.5]]), lower=np.array([[1.9, 2.4]]),
        upper=np.array([[2.1, 2.6]]), level=0.9,
    )  # fmt: skip
    frame = pred.to_frame()
    assert frame.to_dict("list") == {"value": [2.0, 2.5], "lower": [1.9, 2.4], "upper": [2.1, 2.6]}
    text = pred._repr_html_()
    assert "2 predictions with 90% bootstrap intervals" in text and "<td>2.5</td>" in text


@pytest.mark.parametrize("n", [60])
def test_prediction_html_is_capped(n: int) -> None:
    v = np.linspace(2, 3, n)
    text = Prediction(value=v, lower=v - 0.1, upper=v + 0.1, level=0.8)._repr_html_()
    assert text.count("<tr>") == 51 and f"... {n - 50} more" in text


def test_predict_frame_has_inputs_output_and_interval() -> None:
    fit = load_fit("@busbridge2025")
    frame = fit.predict_frame(params=[546e6, 1.82e9], tokens=1.092e10, teacher_loss=2.3)
    assert list(frame.columns) == ["params", "tokens", "teacher_loss", "loss"]  # no samples
    assert frame["tokens"].tolist() == [1.092e10, 1.092e10]
    assert frame.loc[0, "loss"] == pytest.approx(2.4375, abs=1e-4)  # the §1.9 sanity value
    samples = np.array([[fit.params[k] * s for k in fit.param_names] for s in (0.99, 1.01)])
    boot = replace(fit, bootstrap_samples=samples, ci_level=0.9)
    banded = boot.predict_frame(params=546e6, tokens=1.092e10, teacher_loss=2.3)
    assert list(banded.columns)[-2:] == ["lower", "upper"]
    assert banded.loc[0, "lower"] <= banded.loc[0, "upper"]
    with pytest.raises(ValueError, match="predict_frame: unknown input 'param'"):
        fit.predict_frame(param=1e9, tokens=1e10)


def test_fit_predict_interval_view_shows_inputs_and_both_intervals() -> None:
    fit = load_fit("@busbridge2025-supervised")
    samples = np.array([[fit.params[k] * s for k in fit.param_names] for s in (0.98, 1.0, 1.02)])
    quantiles = np.array([-0.01, 0.01])
    boot = replace(fit, bootstrap_samples=samples, ci_level=0.9, residual_quantiles=quantiles)
    pred = boot.predict(params=[1e8, 1e9], tokens=2e10, interval=True)
    frame = pred.to_frame()
    assert list(frame.columns) == [
        "params", "tokens", "value", "lower", "upper",
        "prediction_lower", "prediction_upper"]  # fmt: skip
    assert frame["params"].tolist() == [1e8, 1e9] and frame["tokens"].tolist() == [2e10, 2e10]
    assert (frame["prediction_lower"] <= frame["lower"]).all()
    text = pred._repr_html_()
    assert "<th>params</th><th>tokens</th><th>value</th>" in text
    assert "<th>new run 90% low</th>" in text and "<td>1e+08</td>" in text
