"""The Fit artifact: JSON round trip, atomic save, published sets, prediction, golden reprs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import distillscale as ds
from distillscale.errors import InputError
from distillscale.fitting import Diagnostics, Fit, HoldoutRow

GOLDEN = Path(__file__).parent / "golden"
KEYS = [
    "schema", "law", "params", "ci", "ci_level", "estimator", "delta", "objective", "n_points",
    "diagnostics", "data_sha256", "version",
]  # fmt: skip


def _hand_made() -> Fit:
    """A fixed fit (Epoch's grid replication values) for golden reprs."""
    samples = np.array(
        [
            [1.80, 450.0, 2000.0, 0.34, 0.36],
            [1.82, 480.0, 2200.0, 0.35, 0.37],
            [1.83, 500.0, 2400.0, 0.355, 0.375],
        ]
    )
    return Fit(
        law="chinchilla",
        params={"E": 1.817236, "A": 477.8417, "B": 2143.8638, "alpha": 0.347313, "beta": 0.367183},
        ci={
            "E": (1.78, 1.86),
            "A": (324.1, 694.8),
            "B": (1347.0, 5170.3),
            "alpha": (0.3237, 0.3692),
            "beta": (0.3441, 0.4110),
        },  # fmt: skip
        ci_level=0.9,
        estimator="huber-grid",
        delta=1e-3,
        objective=0.0010182740178,
        n_points=240,
        diagnostics=Diagnostics(
            converged=True,
            condition_number=48200.0,
            poorly_determined=("B",),
            warnings=(
                "B is poorly determined: its 90% bootstrap interval is wider than its value",
            ),
        ),
        holdout=(HoldoutRow(run="r1", observed=2.5, predicted=2.51, rel_error=0.004),),
        data_sha256="abc",
        version="distillscale 0.1.0",
        bootstrap_samples=samples,
        param_names=("E", "A", "B", "alpha", "beta"),
        fixed={},
    )


def test_summary_matches_golden() -> None:
    text = _hand_made().summary()
    assert text == (GOLDEN / "chinchilla_fit.txt").read_text().rstrip("\n")
    assert repr(_hand_made()) == text


def test_published_summary_matches_golden() -> None:
    text = ds.load_fit("@busbridge2025").summary()
    assert text == (GOLDEN / "busbridge2025.txt").read_text().rstrip("\n")


def test_json_round_trip_and_required_keys(tmp_path: Path) -> None:
    fit = _hand_made()
    doc = fit.to_json()
    assert list(doc)[: len(KEYS) - 3] == KEYS[: len(KEYS) - 3]
    assert set(KEYS) <= set(doc)
    assert doc["diagnostics"]["converged"] is True and doc["diagnostics"]["at_bound"] == []
    json.dumps(doc, allow_nan=False)  # strict JSON
    back = Fit.from_json(json.loads(json.dumps(doc)))
    assert back.params == fit.params and back.ci == fit.ci
    np.testing.assert_array_equal(back.bootstrap_samples, fit.bootstrap_samples)
    assert back.holdout == fit.holdout and back.diagnostics == fit.diagnostics
    path = fit.save(tmp_path / "sub" / "fit.json")
    assert ds.load_fit(path).to_json() == {**doc, "source": str(path)}
    assert [p.name for p in path.parent.iterdir()] == ["fit.json"]  # no temporary left behind


def test_save_is_atomic_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "fit.json"
    target.write_text("old")

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        _hand_made().save(target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["fit.json"]


def test_published_loads_as_fit() -> None:
    fit = ds.load_fit("@busbridge2025")
    assert fit.estimator == "published" and fit.source == "@busbridge2025"
    assert fit.ci["c1"] == (522.6, 522.6) and fit.ci_level == 0.9
    assert fit.supervised is not None and fit.supervised.law == "chinchilla-gamma"
    # LAWS.md §2.1 sanity: Epoch unrounded L(70e9, 1.4e12) = 1.9734.
    epoch = ds.load_fit("@besiroglu2024")
    assert float(epoch.predict(params=70e9, tokens=1.4e12)) == pytest.approx(1.9734, abs=1e-4)


def test_interval_is_bootstrap_percentile() -> None:
    fit = _hand_made()
    pred = fit.predict(params=[1e9, 1e10], tokens=2e10, interval=True, level=0.5)
    law = fit.law_obj
    per_sample = np.array(
        [
            law.predict(dict(zip(fit.param_names, s, strict=True)), params=[1e9, 1e10], tokens=2e10)
            for s in fit.bootstrap_samples
        ]
    )
    np.testing.assert_allclose(pred.lower, np.percentile(per_sample, 25, axis=0))
    np.testing.assert_allclose(pred.upper, np.percentile(per_sample, 75, axis=0))
    np.testing.assert_allclose(pred.value, fit.predict(params=[1e9, 1e10], tokens=2e10))
    assert pred.level == 0.5


def test_interval_without_samples_is_an_input_error() -> None:
    with pytest.raises(InputError, match="--bootstrap"):
        ds.load_fit("@hoffmann2022").predict(params=1e9, tokens=2e10, interval=True)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"schema": "nope"}, "schema"),
        ({"schema": "distillscale.fit/1", "law": "chinchilla"}, "missing key 'params'"),
        ({"schema": "distillscale.fit/1", "law": "chinchilla", "params": {"E": 1}}, "needs E, A"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_documents(doc: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Fit.from_json(doc)  # type: ignore[arg-type]
