"""Fuzz fit artifacts: ``load_fit`` and ``distillscale predict FIT.json``.

Guarantee under test: a damaged ``distillscale.fit/1`` file (truncated, wrong schema, missing
keys, wrong types, unknown law, non-finite numbers, not an object) is an ``InputError`` naming
the file, exit 2 on the command line; a file that loads predicts finite positive losses.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from distillscale.cli import main
from distillscale.errors import InputError
from distillscale.fitting import load_fit

from ._fuzz import count, doc_paths, fuzz_settings

_TMP = Path(tempfile.mkdtemp(prefix="distillscale-fuzz-fits-"))
BASES = {name: load_fit(name).to_json() for name in ("@hoffmann2022", "@busbridge2025")}
#: A fit document with every optional key: bounds, ties, the fitted range, residual quantiles
#: and a held-out row with its prediction interval.
BASES["constrained"] = {
    **BASES["@hoffmann2022"],
    "bounds": {"E": [1.0, 3.0]},
    "ties": {"alpha": "beta"},
    "data_range": {"params": [1e8, 1e10], "tokens": [1e9, 1e11]},
    "residual_quantiles": np.linspace(-0.01, 0.01, 101).tolist(),
    "holdout": [
        {"run": "r1", "observed": 2.5, "predicted": 2.51, "rel_error": 0.004,
         "prediction_interval": [2.4, 2.6], "inside": True},
    ],
}  # fmt: skip

#: Includes non-finite numbers: NaN/Infinity literals (``json.dumps`` writes them) and the
#: strings ``"NaN"``, ``"-inf"`` that ``float()`` would read.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, -1.0, 1.5, 1e308, 1e-320, math.nan, math.inf, -math.inf]),
    st.text(max_size=8),
    st.sampled_from(["NaN", "-inf", "Infinity"]),
    st.sampled_from(["chinchilla", "distillation", "kaplan", "@hoffmann2022", "1.0"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def damaged_document(draw: st.DrawFn) -> Any:
    """A published artifact with 1-3 keys deleted or replaced by arbitrary JSON."""
    doc = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 3))):
        paths = doc_paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_JSON)
    return doc


def _write(text: str) -> Path:
    path = _TMP / "fit.json"
    path.write_text(text, encoding="utf-8")
    return path


def _inputs(law: str) -> dict[str, list[float]]:
    points: dict[str, list[float]] = {"params": [1e8, 3e9], "tokens": [2e9, 6e10]}
    if law == "distillation":
        points["teacher_loss"] = [2.3, 2.1]
    return points


def _check_loaded_or_refused(path: Path) -> None:
    try:
        fit = load_fit(path)
    except InputError as exc:
        assert str(path) in str(exc), str(exc)
        return
    assert all(math.isfinite(v) for v in fit.params.values()), fit.params
    try:  # a loadable file may still lack what predicting needs (a distillation fit's
        # supervised fit): that must be a clean InputError too
        loss = np.asarray(fit.predict(**_inputs(fit.law)))
    except InputError:
        return
    assert np.all(np.isfinite(loss)) and np.all(loss > 0), loss
    again = type(fit).from_json(json.loads(json.dumps(fit.to_json())))
    assert again.params == fit.params


@fuzz_settings(150)
@given(doc=damaged_document())
def test_damaged_artifacts_load_and_predict_or_are_refused_naming_the_file(doc: Any) -> None:
    count("fits.damaged")
    _check_loaded_or_refused(_write(json.dumps(doc)))


@fuzz_settings(60)
@given(name=st.sampled_from(sorted(BASES)), cut=st.floats(0.0, 0.999))
def test_truncated_artifacts_are_refused(name: str, cut: float) -> None:
    count("fits.truncated")
    text = json.dumps(BASES[name], indent=2)
    path = _write(text[: int(cut * len(text))])
    with pytest.raises(InputError, match="not JSON") as info:
        load_fit(path)
    assert str(path) in str(info.value)


@fuzz_settings(60)
@given(doc=_JSON)
def test_arbitrary_json_is_refused(doc: Any) -> None:
    count("fits.arbitrary_json")
    path = _write(json.dumps(doc))
    with pytest.raises(InputError) as info:
        load_fit(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(schema="distillscale.fit/2"), "key 'schema'"),
        (lambda d: d.pop("schema"), "key 'schema'"),
        (lambda d: d.pop("params"), "missing key 'params'"),
        (lambda d: d["params"].pop("E"), "key 'params'"),
        (lambda d: d.update(params=[1, 2]), "malformed"),
        (lambda d: d["params"].update(E="x"), "malformed"),
    ],
)
def test_schema_and_key_errors_name_the_file_and_key(edit: Any, message: str) -> None:
    doc = copy.deepcopy(BASES["@hoffmann2022"])
    edit(doc)
    path = _write(json.dumps(doc))
    with pytest.raises(InputError, match=message) as info:
        load_fit(path)
    assert str(path) in str(info.value)


def test_a_missing_fit_file_names_the_path() -> None:
    with pytest.raises(InputError, match="cannot read fit file") as info:
        load_fit(_TMP / "no-such-fit.json")
    assert "no-such-fit.json" in str(info.value)


# --- through the CLI -------------------------------------------------------------------------
@fuzz_settings(100)
@given(doc=st.one_of(damaged_document(), _JSON), json_out=st.booleans())
def test_cli_predict_on_a_damaged_artifact_exits_0_or_2(
    doc: Any, json_out: bool, capsys: pytest.CaptureFixture[str], fast_cli: None
) -> None:
    count("fits.cli_predict")
    path = _write(json.dumps(doc))
    try:
        law = load_fit(path).law
    except InputError:
        law = None  # the command must refuse the file, naming it
    argv = ["predict", str(path), "--params", "1e8", "--tokens", "2e9"]
    if law == "distillation":
        argv += ["--teacher-loss", "2.3"]
    capsys.readouterr()
    status = main([*argv, "--json"] if json_out else argv)
    captured = capsys.readouterr()
    assert status in (0, 2), captured.err
    assert "Traceback" not in captured.err
    if law is None:
        assert status == 2
        assert str(path) in captured.err.replace("\n", "")
    if status == 2:
        assert captured.out == ""
        assert captured.err.startswith("error:")
    elif json_out:
        predictions = json.loads(captured.out)["predictions"]
        assert all(p["loss"] is not None and p["loss"] > 0 for p in predictions)
