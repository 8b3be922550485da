"""User bounds (``bounds=``/``--bound``) and tied parameters (``ties=``/``--tie``)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import distillscale as ds
from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.fitting.constraints import constrain, parse_bound
from distillscale.laws import get_law

from ._synth import design, synthetic_table


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_table("chinchilla", 80, seed=3)  # truth E = 1.82 (@besiroglu2024)


@pytest.mark.parametrize("estimator", ["huber-grid", "huber-mle"])
def test_a_bound_holds_for_every_estimator_and_is_flagged(
    frame: pd.DataFrame, estimator: str
) -> None:
    fit = ds.fit(frame, "chinchilla", estimator=estimator, bounds={"E": (1.9, 3.0)})
    assert fit.params["E"] == pytest.approx(1.9, rel=1e-9)  # the data want 1.82, below it
    assert fit.diagnostics.at_bound == ("E",)
    assert any(
        str(w).startswith("E fitted at its lower bound 1.9") for w in fit.diagnostics.warnings
    )
    doc = fit.to_json()
    assert doc["bounds"] == {"E": [1.9, 3.0]}
    assert ds.Fit.from_json(doc).bounds == {"E": (1.9, 3.0)}
    assert "bounded 1.9..3" in fit.summary()


def test_bootstrap_resamples_and_start_grid_stay_inside_the_bounds(frame: pd.DataFrame) -> None:
    fit = ds.fit(frame, "chinchilla", bounds={"alpha": (0.2, 0.3)}, bootstrap=10, seed=0)
    samples = fit.bootstrap_samples
    assert samples is not None
    alpha = samples[:, 3]
    assert np.all((alpha >= 0.2 - 1e-12) & (alpha <= 0.3 + 1e-12))
    law = constrain(get_law("chinchilla"), {"alpha": (0.2, 0.3), "E": (1.0, 2.0)}, None)
    grid = law.start_grid()
    assert np.all(grid >= law.lower) and np.all(grid <= law.upper)
    assert grid.shape[0] < get_law("chinchilla").start_grid().shape[0]


@pytest.mark.parametrize(
    ("bounds", "python", "cli"),
    [
        (
            {"X": (1, 2)},
            "bounds={'X': (1, 2)}: law 'chinchilla' has no parameter 'X'",
            "--bound X=1:2: law 'chinchilla' has no parameter 'X'",
        ),
        ({"E": (3, 1)}, "bounds={'E': (3, 1)}: need finite LO < HI", "--bound E=3:1: need finite"),
        ({"E": (0, 2)}, "E is a scale parameter and must be > 0", "--bound E=0:2: E is a scale"),
        (
            {"alpha": (0, 9)},
            "outside the range of law 'chinchilla' for alpha, 0..4",
            "--bound alpha=0:9: outside the range",
        ),
        ({"E": ("a", 2)}, "bounds={'E': ('a', 2)}: expected two numbers", "--bound E=('a', 2)"),
    ],
)
def test_bad_bounds_name_the_argument_and_the_cli_the_flag(
    frame: pd.DataFrame, bounds: dict[str, tuple[float, float]], python: str, cli: str
) -> None:
    with pytest.raises(InputError) as info:
        ds.fit(frame, "chinchilla", bounds=bounds)
    assert python in str(info.value) and "--" not in str(info.value)
    assert cli_message(info.value).startswith(cli)


def test_parse_bound() -> None:
    assert parse_bound("E=0.5:3") == ("E", (0.5, 3.0))
    for bad in ("E=0.5", "=1:2", "E=a:b", "E"):
        with pytest.raises(InputError, match="expected NAME=LO:HI"):
            parse_bound(bad)


def _tied_truth(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = design("chinchilla", n, rng)
    truth = {"E": 1.8, "A": 500.0, "B": 2000.0, "alpha": 0.36, "beta": 0.36}
    y = get_law("chinchilla").predict(truth, **x) * np.exp(0.002 * rng.standard_normal(n))
    return pd.DataFrame({**x, "loss": y})


def test_a_tie_shares_one_free_parameter_and_recovers_it() -> None:
    fit = ds.fit(_tied_truth(60, 4), "chinchilla", ties={"alpha": "beta"}, bootstrap=10, seed=0)
    assert fit.params["alpha"] == fit.params["beta"]
    assert fit.params["beta"] == pytest.approx(0.36, rel=0.02)
    assert fit.params["E"] == pytest.approx(1.8, rel=0.01)
    samples = fit.bootstrap_samples
    assert samples is not None
    np.testing.assert_array_equal(samples[:, 3], samples[:, 4])
    assert fit.ci is not None and fit.ci["alpha"] == fit.ci["beta"]
    doc = fit.to_json()
    assert doc["ties"] == {"alpha": "beta"}
    assert ds.Fit.from_json(doc).ties == {"alpha": "beta"}
    assert "tied to beta" in fit.summary()
    # 4 free parameters, not 5: four runs are enough
    small = ds.fit(_tied_truth(4, 5), "chinchilla", ties={"alpha": "beta"})
    assert small.n_points == 4


@pytest.mark.parametrize(
    ("ties", "extra", "message"),
    [
        ({"alpha": "nope"}, {}, "law 'chinchilla' has no parameter 'nope'"),
        ({"alpha": "alpha"}, {}, "cannot be tied to itself"),
        ({"alpha": "A"}, {}, "fitted on different scales"),
        ({"alpha": "beta", "beta": "E"}, {}, "ties cannot chain"),
        ({"alpha": "beta"}, {"fixed": {"beta": 0.3}}, "beta is held fixed"),
        ({"alpha": "beta"}, {"bounds": {"alpha": (0.1, 0.5)}}, "bound beta instead"),
    ],
)
def test_bad_ties_name_the_argument_and_the_cli_the_flag(
    frame: pd.DataFrame, ties: dict[str, str], extra: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=f"^ties=.*{message}") as info:
        ds.fit(frame, "chinchilla", ties=ties, **extra)  # type: ignore[arg-type]
    assert "--" not in str(info.value)
    assert re.match(f"--tie .*{message}", cli_message(info.value))


def test_chained_ties_show_the_fix_in_each_wording(frame: pd.DataFrame) -> None:
    with pytest.raises(InputError) as info:
        ds.fit(frame, "chinchilla", ties={"alpha": "beta", "beta": "E"})
    assert str(info.value).endswith("e.g. ties={'a': 'c', 'b': 'c'}")
    assert cli_message(info.value) == (
        "--tie alpha=beta: ties cannot chain; tie every parameter to the same one "
        "(e.g. --tie a=c --tie b=c)"
    )


def test_bad_constraint_keys_in_an_artifact_are_refused(frame: pd.DataFrame) -> None:
    doc = ds.fit(frame, "chinchilla").to_json()
    for key, value, message in (
        ("bounds", {"E": [3, 1]}, r"key 'bounds': bounds=\{'E': \(3, 1\)\}: need finite"),
        ("bounds", {"E": 2}, "key 'bounds' is malformed"),
        ("ties", {"alpha": "A"}, r"key 'ties': ties=\{'alpha': 'A'\}: alpha and A"),
        ("ties", ["alpha"], "key 'ties' is malformed"),
    ):
        with pytest.raises(InputError, match=message):
            ds.Fit.from_json({**doc, key: value})
