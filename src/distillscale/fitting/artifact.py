"""The ``distillscale.fit/1`` JSON artifact: writing, reading and checking a fit document.

docs/conventions.md describes the document; :func:`fit_document` writes exactly its keys plus
``param_names``, ``covariance``, ``fixed``, ``source``, ``scale`` and ``bootstrap_samples``
(natural parameter values, one row per resample, in ``param_names`` order). Reading checks every
key; a refusal names the file (or ``where``) and the key. Published coefficient sets load as a
:class:`~distillscale.fitting.record.Fit` with ``estimator="published"``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from distillscale.atomic import atomic_open
from distillscale.errors import InputError
from distillscale.fitting.constraints import read_bounds, read_ties
from distillscale.fitting.extrapolation import read_data_range
from distillscale.fitting.intervals import read_residual_quantiles
from distillscale.fitting.record import (
    SCHEMA,
    Diagnostics,
    Fit,
    HoldoutRow,
    package_version,
)
from distillscale.laws import LAWS, get_law
from distillscale.laws.base import Law

__all__ = ["fit_document", "load_fit", "read_fit_document", "save_fit"]


# --- writing -------------------------------------------------------------------------------
def fit_document(fit: Fit) -> dict[str, Any]:
    """The ``distillscale.fit/1`` document of ``fit`` as plain JSON data (non-finite -> null)."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "law": fit.law,
        "params": dict(fit.params),
        "ci": None if fit.ci is None else {k: list(v) for k, v in fit.ci.items()},
        "ci_level": fit.ci_level,
        "estimator": fit.estimator,
        "delta": fit.delta,
        "objective": fit.objective,
        "n_points": fit.n_points,
    }
    if fit.supervised is not None:
        doc["supervised"] = fit.supervised.to_json()
    if fit.holdout is not None:
        doc["holdout"] = [h.to_dict() for h in fit.holdout]
    doc["diagnostics"] = fit.diagnostics.to_dict()
    doc["data_sha256"] = fit.data_sha256
    doc["version"] = fit.version
    doc["param_names"] = list(fit.param_names)
    doc["fixed"] = dict(fit.fixed or {})
    doc["source"] = fit.source
    doc["scale"] = fit.scale
    doc["covariance"] = None if fit.covariance is None else fit.covariance.tolist()
    doc["bootstrap_samples"] = (
        None if fit.bootstrap_samples is None else fit.bootstrap_samples.tolist()
    )
    if fit.residual_quantiles is not None:
        doc["residual_quantiles"] = fit.residual_quantiles.tolist()
    if fit.bounds:
        doc["bounds"] = {k: list(v) for k, v in fit.bounds.items()}
    if fit.ties:
        doc["ties"] = dict(fit.ties)
    if fit.data_range:
        doc["data_range"] = {k: list(v) for k, v in fit.data_range.items()}
    return _finite(doc)


def save_fit(fit: Fit, path: str | os.PathLike[str]) -> Path:
    """Write ``fit``'s artifact atomically (temporary file, then ``os.replace``); see Fit.save."""
    target = Path(path)
    if "\x00" in str(target):
        raise InputError(f"{str(target)!r}: a file name cannot hold a NUL byte")
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give a file such as {target / 'fit.json'}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(target, "w") as fh:
        json.dump(fit.to_json(), fh, indent=2)
        fh.write("\n")
    return target


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def read_fit_document(cls: type[Fit], doc: Mapping[str, Any], where: str) -> Fit:
    """Build a ``cls`` from a ``distillscale.fit/1`` document; see :meth:`Fit.from_json`."""
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("schema") != SCHEMA:
        raise InputError(
            f"{where}: key 'schema' is {doc.get('schema')!r}; expected {SCHEMA!r} "
            "(write it with `distillscale fit -o FIT.json`)"
        )
    try:
        return _read_fit(cls, doc, where)
    except KeyError as exc:
        raise InputError(f"{where}: missing key {exc.args[0]!r}") from None
    except InputError as exc:
        if str(exc).startswith(where):
            raise
        raise InputError(f"{where}: {exc}") from None
    except (TypeError, ValueError, AttributeError, OverflowError, IndexError) as exc:
        raise InputError(f"{where}: malformed value ({exc})") from None


# --- reading a fit document ----------------------------------------------------------------
_NUMBER = "a finite number"


def _show(value: Any) -> str:
    """A short repr of a found value, for messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(where: str, key: str, found: Any, allowed: str) -> InputError:
    return InputError(
        f"{where}: key {key!r} is malformed: found {_show(found)}; expected {allowed}"
    )


def _is_number(value: Any) -> bool:
    """A JSON number, or a numpy one from the Python API; booleans are not numbers here."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _number(where: str, key: str, value: Any, *, positive: bool = False) -> float:
    """A finite JSON number (not a string or boolean); ``positive`` requires > 0."""
    ok = _is_number(value)
    number = float(value) if ok else math.nan
    if not math.isfinite(number) or (positive and number <= 0):
        raise _bad(where, key, value, "a finite number > 0" if positive else _NUMBER)
    return number


def _optional_number(where: str, key: str, value: Any, *, positive: bool = False) -> float | None:
    """:func:`_number`, or None for null."""
    return None if value is None else _number(where, key, value, positive=positive)


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(where, key, value, "a list of strings")
    return tuple(value)


def _optional_str(where: str, key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _bad(where, key, value, "a string or null")
    return value


def _mapping(where: str, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, key, value, "a JSON object")
    return value


def _named_numbers(where: str, key: str, value: Any, law: Law) -> dict[str, float]:
    """``{"E": 1.8, ...}``: finite numbers named by the law's parameters."""
    out: dict[str, float] = {}
    for name, v in _mapping(where, key, value).items():
        if name not in law.param_names:
            raise InputError(
                f"{where}: key '{key}.{name}' is not a parameter of law {law.name!r} "
                f"({', '.join(law.param_names)})"
            )
        out[name] = _number(where, f"{key}.{name}", v)
    return out


def _array(
    where: str, key: str, value: Any, shape: tuple[int | None, int], *, finite: bool
) -> NDArray[np.float64]:
    """A nested list of numbers with ``shape`` (None: any length >= 1).

    Nulls are NaN unless ``finite`` (``to_json`` writes a non-finite entry as null).
    """
    rows = value if isinstance(value, list) else None
    allowed = f"a list of {shape[0] or 'K'} lists of {shape[1]} " + (
        "finite numbers" if finite else "numbers or nulls"
    )
    if not rows or (shape[0] is not None and len(rows) != shape[0]):
        raise _bad(where, key, value, allowed)
    for row in rows:
        if not isinstance(row, list) or len(row) != shape[1]:
            raise _bad(where, key, row, allowed)
        for v in row:
            number = _is_number(v)
            if not (number or (v is None and not finite)) or (
                finite and not math.isfinite(float(v))
            ):
                raise _bad(where, key, v, allowed)
    return np.array(rows, dtype=float)


def _read_law(where: str, key: str, value: Any) -> Law:
    if not isinstance(value, str):
        raise _bad(where, key, value, f"a law name ({', '.join(LAWS)})")
    try:
        return get_law(value)
    except InputError as exc:
        raise InputError(f"{where}: key {key!r}: {exc}") from None


def _in_domain(where: str, key: str, law: Law, values: Mapping[str, float]) -> None:
    """Scale parameters (fitted as logs) must be > 0: the law's own check, naming the key."""
    try:
        law.to_fitting(values)
    except InputError as exc:
        raise InputError(f"{where}: key {key!r}: {exc}") from None


def _read_ci(where: str, value: Any, law: Law) -> dict[str, tuple[float, float]] | None:
    if value is None:
        return None
    out: dict[str, tuple[float, float]] = {}
    for name, pair in _mapping(where, "ci", value).items():
        key = f"ci.{name}"
        if name not in law.param_names:
            raise InputError(
                f"{where}: key {key!r} is not a parameter of law {law.name!r} "
                f"({', '.join(law.param_names)})"
            )
        if not isinstance(pair, list) or len(pair) != 2:
            raise _bad(where, key, pair, "a [low, high] pair of finite numbers")
        lo, hi = (_number(where, key, v) for v in pair)
        out[name] = (lo, hi)
    return out


def _read_diagnostics(where: str, value: Any) -> Diagnostics:
    raw = _mapping(where, "diagnostics", value)
    if "converged" not in raw:
        raise InputError(f"{where}: missing key 'diagnostics.converged'")
    converged = raw["converged"]
    if not isinstance(converged, bool):
        raise _bad(where, "diagnostics.converged", converged, "true or false")
    cond = raw.get("condition_number")
    return Diagnostics(
        converged=converged,
        at_bound=_strings(where, "diagnostics.at_bound", raw.get("at_bound", [])),
        warnings=_strings(where, "diagnostics.warnings", raw.get("warnings", [])),
        condition_number=_optional_number(where, "diagnostics.condition_number", cond),
        poorly_determined=_strings(
            where, "diagnostics.poorly_determined", raw.get("poorly_determined", [])
        ),
    )


def _read_holdout(where: str, value: Any) -> tuple[HoldoutRow, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad(where, "holdout", value, "a list of objects")
    rows = []
    for i, raw in enumerate(value):
        key = f"holdout[{i}]"
        row = _mapping(where, key, raw)
        required = {"run", "observed", "predicted", "rel_error"}
        if not required <= set(row) <= required | {"prediction_interval", "inside"}:
            raise _bad(
                where,
                key,
                sorted(row),
                "keys run, observed, predicted, rel_error (and prediction_interval, inside)",
            )
        if not isinstance(row["run"], str):
            raise _bad(where, f"{key}.run", row["run"], "a string")
        lower = upper = inside = None
        if "prediction_interval" in row or "inside" in row:
            band = row.get("prediction_interval")
            if not isinstance(band, list) or len(band) != 2:
                raise _bad(where, f"{key}.prediction_interval", band, "a [low, high] pair")
            lower, upper = (_number(where, f"{key}.prediction_interval", v) for v in band)
            inside = row.get("inside")
            if not isinstance(inside, bool):
                raise _bad(where, f"{key}.inside", inside, "true or false")
        rows.append(
            HoldoutRow(
                run=row["run"],
                observed=_number(where, f"{key}.observed", row["observed"]),
                predicted=_number(where, f"{key}.predicted", row["predicted"]),
                rel_error=_number(where, f"{key}.rel_error", row["rel_error"]),
                lower=lower,
                upper=upper,
                inside=inside,
            )
        )
    return tuple(rows)


def _read_fit(cls: type[Fit], doc: Mapping[str, Any], where: str) -> Fit:
    """The body of :meth:`Fit.from_json`: every key checked, each refusal naming it."""
    law = _read_law(where, "law", doc["law"])
    params = _named_numbers(where, "params", doc["params"], law)
    if set(params) != set(law.param_names):
        raise InputError(
            f"{where}: key 'params' has {sorted(params)}; law {law.name!r} needs "
            f"{', '.join(law.param_names)}"
        )
    _in_domain(where, "params", law, params)
    fixed = _named_numbers(where, "fixed", doc.get("fixed") or {}, law)
    names = doc.get("param_names") or list(law.param_names)
    if names != list(law.param_names):
        raise _bad(where, "param_names", names, f"{list(law.param_names)} (law {law.name!r})")
    ci_level = _optional_number(where, "ci_level", doc.get("ci_level"))
    if ci_level is not None and not 0.0 < ci_level < 1.0:
        raise _bad(where, "ci_level", ci_level, "a coverage in (0, 1), e.g. 0.9, or null")
    n_points = doc.get("n_points")
    if n_points is not None and (
        not _is_number(n_points) or not isinstance(n_points, Integral) or n_points < 1
    ):
        raise _bad(where, "n_points", n_points, "a whole number of runs >= 1, or null")
    objective = _optional_number(where, "objective", doc.get("objective"))
    if objective is not None and objective < 0:
        raise _bad(where, "objective", objective, "a summed Huber loss >= 0, or null")
    p = len(law.param_names)
    samples = doc.get("bootstrap_samples")
    if samples is not None:
        samples = _array(where, "bootstrap_samples", samples, (None, p), finite=True)
        if np.any(samples[:, law.log_mask] <= 0):
            raise _bad(where, "bootstrap_samples", "a value <= 0", "scale parameters > 0")
    cov = doc.get("covariance")
    if cov is not None:
        cov = _array(where, "covariance", cov, (p, p), finite=False)
    estimator = doc["estimator"]
    if not isinstance(estimator, str):
        raise _bad(where, "estimator", estimator, "a string such as 'huber-grid'")
    version = doc.get("version", "")
    if not isinstance(version, str):
        raise _bad(where, "version", version, "a string")
    sup = doc.get("supervised")
    if sup is not None and not law.derived_inputs:
        raise InputError(f"{where}: key 'supervised': law {law.name!r} takes no supervised fit")
    supervised = None if sup is None else cls.from_json(sup, f"{where} (supervised)")
    if supervised is not None and supervised.law_obj.inputs != ("params", "tokens"):
        raise InputError(
            f"{where}: key 'supervised' is a fit of law {supervised.law!r}; expected a "
            "supervised law of params and tokens (chinchilla or chinchilla-gamma)"
        )
    return cls(
        law=law.name,
        params=params,
        ci=_read_ci(where, doc.get("ci"), law),
        ci_level=ci_level,
        estimator=estimator,
        delta=_number(where, "delta", doc["delta"], positive=True),
        objective=objective,
        n_points=None if n_points is None else int(n_points),
        diagnostics=_read_diagnostics(where, doc["diagnostics"]),
        supervised=supervised,
        holdout=_read_holdout(where, doc.get("holdout")),
        data_sha256=_optional_str(where, "data_sha256", doc.get("data_sha256")),
        version=version,
        bootstrap_samples=samples,
        param_names=law.param_names,
        covariance=cov,
        fixed=fixed,
        source=_optional_str(where, "source", doc.get("source")),
        scale=_optional_number(where, "scale", doc.get("scale"), positive=True),
        residual_quantiles=read_residual_quantiles(where, doc.get("residual_quantiles")),
        bounds=read_bounds(where, doc.get("bounds"), law) or None,
        ties=read_ties(where, doc.get("ties"), law) or None,
        data_range=read_data_range(where, doc.get("data_range"), law.inputs) or None,
    )


def _from_published(name: str) -> Fit:
    from distillscale.laws.published import load_published

    ps = load_published(name)
    law = get_law(ps.law)
    return Fit(
        law=ps.law,
        params=dict(ps.params),
        ci=None if ps.ci is None else dict(ps.ci),
        ci_level=ps.ci_level,
        estimator="published",
        delta=law.default_delta,
        objective=None,
        n_points=ps.n_points,
        diagnostics=Diagnostics(converged=True),
        supervised=None if ps.supervised is None else _from_published(ps.supervised.name),
        version=package_version(),
        param_names=law.param_names,
        source="@" + ps.name,
        data_range=None if ps.data_range is None else dict(ps.data_range),
    )


def load_fit(path_or_name: str | os.PathLike[str]) -> Fit:
    """Load a fit artifact from a JSON file, or a published set as ``"@name"``.

    Parameters
    ----------
    path_or_name : str or path
        ``FIT.json`` written by ``distillscale fit -o``, or ``"@busbridge2025"`` etc.

    Returns
    -------
    Fit
        ``source`` is the path or ``"@name"``; published sets have ``estimator="published"``
        and the paper's intervals as ``ci``.
    """
    text = str(path_or_name)
    if text.startswith("@"):
        return _from_published(text)
    path = Path(text)
    if "\x00" in text:
        raise InputError(
            f"{text!r}: a file name cannot hold a NUL byte; give a FIT.json written by "
            "`distillscale fit -o` or a published set such as @hoffmann2022"
        )
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read fit file ({exc.strerror or exc}); give a FIT.json written by "
            "`distillscale fit -o` or a published set such as @hoffmann2022"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (found byte 0x{exc.object[exc.start]:02x}); a fit file "
            "is JSON written by `distillscale fit -o`"
        ) from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    return Fit.from_json(doc, str(path)).with_source(str(path))
