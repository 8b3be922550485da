"""``distillscale predict``: docs/conventions.md's predict --json document and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from distillscale.cli import main
from distillscale.fitting import load_fit


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code = main(["predict", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_published_chinchilla_sanity_value(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _run(["@hoffmann2022", "--params", "70e9", "--tokens", "1.4e12"], capsys)
    assert doc["law"] == "chinchilla" and doc["fit"] == "@hoffmann2022"
    (row,) = doc["predictions"]
    # docs/references.md: Chinchilla sanity table: Hoffmann unrounded, L(70e9, 1.4e12) = 1.9208.
    assert row["loss"] == pytest.approx(1.9208, abs=1e-4)
    assert row["teacher_loss"] is None and row["interval"] is None
    assert row["prediction_interval"] is None
    assert row["params"] == 70e9 and row["tokens"] == 1.4e12


def test_distillation_points_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pts = tmp_path / "pts.csv"
    pts.write_text("params,tokens,teacher_loss\n1e8,2e10,2.2\n1e9,2e10,2.2\n")
    doc = _run(["@busbridge2025", "--points", str(pts)], capsys)
    fit = load_fit("@busbridge2025")
    expected = fit.predict(params=[1e8, 1e9], tokens=2e10, teacher_loss=2.2)
    got = [p["loss"] for p in doc["predictions"]]
    assert got == pytest.approx(expected.tolist(), rel=1e-12)
    assert [p["teacher_loss"] for p in doc["predictions"]] == [2.2, 2.2]


def test_interval_from_bootstrap_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import pandas as pd

    from distillscale import fit

    rng = np.random.default_rng(0)
    n = 40
    params = 10 ** rng.uniform(7, 10, n)
    tokens = params * 10 ** rng.uniform(0.5, 2.5, n)
    loss = (1.8 + 480 / params**0.35 + 2100 / tokens**0.37) * np.exp(0.005 * rng.standard_normal(n))
    f = fit(
        pd.DataFrame({"params": params, "tokens": tokens, "loss": loss}),
        "chinchilla",
        bootstrap=30,
        seed=0,
    )
    path = f.save(tmp_path / "fit.json")
    doc = _run([str(path), "--params", "1e9", "--params", "2e9", "--tokens", "2e10"], capsys)
    assert len(doc["predictions"]) == 2
    for row in doc["predictions"]:
        lo, hi = row["interval"]
        assert lo < row["loss"] < hi
        # the prediction interval for a new run adds the residual scatter: it is wider
        p_lo, p_hi = row["prediction_interval"]
        assert p_lo < lo and hi < p_hi


def test_downstream_error_at_losses(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _run(["@gadre2024-c4-downstream", "--loss", "2.5", "--loss", "3.0"], capsys)
    assert doc["law"] == "downstream"
    # docs/references.md: Gadre, C4, 46 tasks: Err(L) = 0.7589 - 1.289 exp(-0.9722 L)
    for row, loss in zip(doc["predictions"], (2.5, 3.0), strict=True):
        assert set(row) == {"loss", "error", "interval", "prediction_interval"}
        assert row["interval"] is None and row["prediction_interval"] is None
        assert row["loss"] == loss
        assert row["error"] == pytest.approx(0.7589 - 1.289 * math.exp(-0.9722 * loss), abs=2e-4)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["@hoffmann2022", "--params", "1e9"], "--tokens VALUE"),
        (["@busbridge2025", "--params", "1e9", "--tokens", "2e10"], "--teacher-loss VALUE"),
        (["@nope", "--params", "1e9", "--tokens", "2e10"], "unknown published coefficient set"),
        (["missing.json", "--params", "1e9", "--tokens", "2e10"], "missing.json"),
        (["@hoffmann2022", "--params", "-1e9", "--tokens", "2e10"], "must be finite and > 0"),
        (["@gadre2024-c4-downstream"], "give --loss VALUE"),
        (["@gadre2024-c4-downstream", "--loss", "3", "--params", "1e9"], "--params has no mean"),
        (["@hoffmann2022", "--params", "1e9", "--tokens", "2e10", "--loss", "2"], "--loss has no"),
    ],
)
def test_bad_input_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main(["predict", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert expected in " ".join(captured.err.split())


def test_bad_fit_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    assert main(["predict", str(bad), "--params", "1e9", "--tokens", "2e10"]) == 2
    assert "distillscale.fit/1" in capsys.readouterr().err


def test_far_outside_the_fitted_range_warns(capsys: pytest.CaptureFixture[str]) -> None:
    # issue 9: @besiroglu2024 was fitted on params 5.7e7..1.6e10, tokens 8.2e8..3.2e11
    near = _run(["@besiroglu2024", "--params", "1e9", "--tokens", "2e10"], capsys)
    assert near["warnings"] == []
    code = main(["predict", "@besiroglu2024", "--params", "1e12", "--tokens", "2e10", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    (warning,) = json.loads(captured.out)["warnings"]
    assert warning.startswith("--params 1e+12 is more than 10x beyond the params range")
    assert "warning: --params 1e+12" in " ".join(captured.err.split())
    # no recorded range (a published set without one): no range warning
    assert _run(["@hoffmann2022", "--params", "1e12", "--tokens", "2e10"], capsys)["warnings"] == []


def test_teacher_loss_outside_a_fits_range_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit = load_fit("@busbridge2025")
    doc = fit.to_json()
    doc["data_range"] = {"params": [1e8, 1e10], "tokens": [1e9, 1e12], "teacher_loss": [2.0, 3.0]}
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(doc))
    args = [str(path), "--params", "1e9", "--tokens", "2e10", "--teacher-loss"]
    assert _run([*args, "2.5"], capsys)["warnings"] == []
    (warning,) = _run([*args, "1.5"], capsys)["warnings"]
    assert "--teacher-loss 1.5 is more than 10% of its width outside" in warning


def test_an_absurd_prediction_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["predict", "@besiroglu2024", "--params", "1e3", "--tokens", "1e3", "--json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "predicted loss 212 nats per token is absurd" in captured.err
    assert "Traceback" not in captured.err


def test_an_absurd_prediction_from_a_points_file_names_the_file_and_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    points = tmp_path / "points.csv"
    points.write_text("params,tokens\n1e9,2e10\n1e3,1e3\n")
    code = main(["predict", "@besiroglu2024", "--points", str(points)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert f"nats per token at point 2 of {points} is absurd" in captured.err
