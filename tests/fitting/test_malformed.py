"""Hypothesis throws malformed tables at the fitter: a Fit or an InputError, nothing else."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import distillscale as ds
from distillscale.errors import DistillscaleWarning, InputError

CELLS = st.one_of(
    st.floats(min_value=1e6, max_value=1e12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "abc", "1e9", "-5", "0"]),
    st.integers(min_value=-10, max_value=10**11),
    st.none(),
)


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=12))
    names = draw(
        st.lists(
            st.sampled_from(["params", "tokens", "loss", "run", "kind", "extra"]),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    return pd.DataFrame({c: draw(st.lists(CELLS, min_size=n, max_size=n)) for c in names})


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(frame=tables())
def test_malformed_tables_give_fit_or_input_error(frame: pd.DataFrame) -> None:
    try:
        fit = ds.fit(frame, "overtrain")
    except InputError as exc:
        assert str(exc)  # a message, never empty
        return
    assert all(math.isfinite(v) for v in fit.params.values())
    assert fit.n_points >= 4


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    loss=st.lists(st.floats(min_value=1.5, max_value=6.0), min_size=6, max_size=12),
    scale=st.floats(min_value=1e6, max_value=1e10),
)
def test_arbitrary_valid_losses_fit_without_error(loss: list[float], scale: float) -> None:
    n = len(loss)
    params = scale * np.geomspace(1, 100, n)
    frame = pd.DataFrame({"params": params, "tokens": 20 * params, "loss": loss})
    fit = ds.fit(frame, "overtrain")
    assert all(math.isfinite(v) for v in fit.params.values())
    assert fit.objective is not None and math.isfinite(fit.objective)
    json_doc = fit.to_json()
    assert json_doc["n_points"] == n


def test_drop_invalid_drops_and_warns() -> None:
    rng = np.random.default_rng(0)
    params = 10 ** rng.uniform(7, 10, 12)
    frame = pd.DataFrame(
        {"params": params, "tokens": 20 * params, "loss": 2 + 400 / params**0.3}
    ).astype({"loss": object})
    frame.loc[3, "loss"] = "oops"
    with pytest.raises(InputError, match="loss"):
        ds.fit(frame, "overtrain")
    with pytest.warns(DistillscaleWarning, match="1"):
        fit = ds.fit(frame, "overtrain", drop_invalid=True)
    assert fit.n_points == 11
