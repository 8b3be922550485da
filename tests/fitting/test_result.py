"""The Fit artifact: JSON round trip, atomic save, published sets, prediction, golden reprs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import distillscale as ds
from distillscale.cli.errors import cli_message
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
    # docs/references.md: Chinchilla sanity: Epoch unrounded L(70e9, 1.4e12) = 1.9734.
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
    with pytest.raises(InputError, match="refit with bootstrap=K$") as info:
        ds.load_fit("@hoffmann2022").predict(params=1e9, tokens=2e10, interval=True)
    assert "--" not in str(info.value)
    assert cli_message(info.value).endswith("; refit with --bootstrap K")


def test_missing_inputs_name_the_arguments_and_the_cli_the_flags() -> None:
    with pytest.raises(InputError, match="missing tokens=$") as info:
        ds.load_fit("@hoffmann2022").predict(params=1e9)
    assert cli_message(info.value).endswith("; missing --tokens")


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


# --- damaged artifacts: one refusal per bad value, naming the file and the key ------------------
def _edit_published(name: str, edit: object) -> dict[str, object]:
    doc = json.loads(json.dumps(ds.load_fit(name).to_json()))
    edit(doc)  # type: ignore[operator]
    return doc


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("@hoffmann2022", lambda d: d.update(law="foo"), "key 'law': unknown law 'foo'"),
        ("@hoffmann2022", lambda d: d.update(law=3), "key 'law' is malformed"),
        (
            "@busbridge2025",
            lambda d: d["supervised"].update(law="foo"),
            "(supervised): key 'law': unknown law",
        ),
        (
            "@busbridge2025",
            lambda d: d.update(supervised=json.loads(json.dumps(d))),
            "expected a supervised law",
        ),
        ("@hoffmann2022", lambda d: d["params"].update(E=-5), "key 'params': law 'chinchilla'"),
        ("@hoffmann2022", lambda d: d["params"].update(E=math.nan), "key 'params.E' is malformed"),
        ("@hoffmann2022", lambda d: d["params"].update(A=math.inf), "key 'params.A' is malformed"),
        ("@hoffmann2022", lambda d: d["params"].update(E="NaN"), "key 'params.E' is malformed"),
        ("@hoffmann2022", lambda d: d["params"].update(E=True), "key 'params.E' is malformed"),
        ("@hoffmann2022", lambda d: d.update(n_points=math.inf), "key 'n_points'"),
        ("@hoffmann2022", lambda d: d.update(n_points=-1), "key 'n_points'"),
        ("@hoffmann2022", lambda d: d.update(n_points=1.5), "key 'n_points'"),
        ("@hoffmann2022", lambda d: d.update(ci={"E": [1.0]}), "key 'ci.E'"),
        ("@hoffmann2022", lambda d: d.update(ci={"E": []}), "key 'ci.E'"),
        ("@hoffmann2022", lambda d: d.update(ci={"Q": [1, 2]}), "key 'ci.Q' is not a parameter"),
        ("@hoffmann2022", lambda d: d.update(delta="NaN"), "key 'delta'"),
        ("@hoffmann2022", lambda d: d.update(delta=False), "key 'delta'"),
        ("@hoffmann2022", lambda d: d.update(objective="NaN"), "key 'objective'"),
        ("@hoffmann2022", lambda d: d.update(fixed={"E": "NaN"}), "key 'fixed.E'"),
        ("@hoffmann2022", lambda d: d.update(scale="-Infinity"), "key 'scale'"),
        ("@hoffmann2022", lambda d: d.update(param_names=["x", 1]), "key 'param_names'"),
        ("@hoffmann2022", lambda d: d.update(covariance=[[1.0]]), "key 'covariance'"),
        ("@hoffmann2022", lambda d: d.update(ci_level=1.5), "key 'ci_level'"),
        ("@hoffmann2022", lambda d: d.update(bootstrap_samples=[[1.0]]), "bootstrap_samples"),
        (
            "@hoffmann2022",
            lambda d: d.update(bootstrap_samples=[[1.8, 400, 2000, 0.3, "NaN"]]),
            "bootstrap_samples",
        ),
        ("@hoffmann2022", lambda d: d["diagnostics"].update(converged="yes"), "converged"),
        ("@hoffmann2022", lambda d: d["diagnostics"].update(warnings="ab"), "warnings"),
        ("@hoffmann2022", lambda d: d.update(holdout=[{"run": "r"}]), "key 'holdout[0]'"),
        (
            "@hoffmann2022",
            lambda d: d.update(
                holdout=[{"run": "r", "observed": "x", "predicted": 1.0, "rel_error": 0.0}]
            ),
            "key 'holdout[0].observed' is malformed: found 'x'; expected a finite number",
        ),
        ("@hoffmann2022", lambda d: d.update(law=3), "expected a law name (chinchilla, "),
        ("@hoffmann2022", lambda d: d.update(version=None), "key 'version' is malformed"),
        ("@hoffmann2022", lambda d: d["diagnostics"].pop("converged"), "'diagnostics.converged'"),
        ("@hoffmann2022", lambda d: d.update(covariance=[[1.0, "a"]]), "key 'covariance'"),
        ("@busbridge2025", lambda d: d["supervised"]["params"].update(E="x"), "(supervised): key"),
    ],
)
def test_damaged_artifacts_are_refused_naming_the_file_and_key(
    tmp_path: Path, name: str, edit: object, message: str
) -> None:
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(_edit_published(name, edit)))
    with pytest.raises(InputError) as info:
        ds.load_fit(path)
    assert str(info.value).startswith(str(path)), str(info.value)
    assert message in str(info.value)


def test_every_published_set_round_trips_through_the_checks() -> None:
    from distillscale.laws import list_published

    for item in list_published():
        name = "@" + getattr(item, "name", str(item))
        fit = ds.load_fit(name)
        again = Fit.from_json(json.loads(json.dumps(fit.to_json())), name)
        assert again.params == fit.params and again.ci == fit.ci, name


def test_a_prediction_that_overflows_is_an_input_error_naming_the_fit() -> None:
    # alpha = -400 makes A / N^alpha = A N^400, past float64 at N = 1e8: was inf (and a
    # RuntimeWarning, exit 1 under -W error), now a refusal that names the fit.
    fit = Fit.from_json(
        _edit_published("@hoffmann2022", lambda d: d["params"].update(alpha=-400.0)), "odd.json"
    ).with_source("odd.json")
    assert np.isfinite(fit.predict(params=1.0, tokens=1e9))  # in range: still answers
    with pytest.raises(InputError, match=r"^odd\.json: the prediction is not a finite"):
        fit.predict(params=1e8, tokens=1e9)


def test_unreadable_fit_paths_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="NUL byte"):
        ds.load_fit("a\x00.json")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"law": "caf\xe9"}')
    with pytest.raises(InputError, match="not UTF-8 text") as info:
        ds.load_fit(latin)
    assert str(latin) in str(info.value)


def test_save_refuses_a_directory_and_uses_the_umask(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        _hand_made().save(tmp_path)
    old = os.umask(0o027)
    try:
        path = _hand_made().save(tmp_path / "fit.json")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640  # 0666 less the umask, not mkstemp's 0600


def test_an_exact_fit_has_diagnostics_not_an_error(tmp_path: Path) -> None:
    """Runs that the law fits exactly (residuals 0) once divided 0 by 0 in the correlations.

    Found by the MLflow import test, whose made-up losses follow the law exactly: in some row
    orders the optimum's residuals were all 0.0, and the fit raised (exit 1).
    """
    rows = [(1e6, 2e7), (1e6, 8e7), (4e6, 8e7), (4e6, 2e7)]
    loss = [1.925 + 300 / n**0.3 + 900 / d**0.3 for n, d in rows]
    for order in ([1, 0, 3, 2], [0, 1, 2, 3], [3, 2, 1, 0]):
        path = tmp_path / f"exact{order[0]}.csv"
        lines = ["params,tokens,loss"] + [f"{rows[i][0]},{rows[i][1]},{loss[i]!r}" for i in order]
        path.write_text("\n".join(lines) + "\n")
        fit = ds.fit(path, law="chinchilla", fixed={"alpha": 0.3, "beta": 0.3})
        assert fit.params["E"] == pytest.approx(1.925, rel=1e-6)
        assert fit.params["A"] == pytest.approx(300, rel=1e-4)
        assert fit.diagnostics.converged
