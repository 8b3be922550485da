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
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from distillscale.atomic import atomic_open
from distillscale.errors import InputError
from distillscale.fitting.artifact_schema import (
    FitDoc,
    HeadDoc,
    HoldoutDoc,
    bad_key,
    parse_document,
)
from distillscale.fitting.constraints import read_bounds, read_ties
from distillscale.fitting.extrapolation import read_data_range
from distillscale.fitting.fit_warning import read_warnings
from distillscale.fitting.intervals import read_residual_quantiles
from distillscale.fitting.record import (
    SCHEMA,
    Diagnostics,
    Fit,
    HoldoutRow,
    package_version,
)
from distillscale.laws import get_law
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
    """Build a ``cls`` from a ``distillscale.fit/1`` document; see :meth:`Fit.from_json`.

    The keys' types are checked by :class:`~distillscale.fitting.artifact_schema.FitDoc`
    (pydantic), then what depends on the law: parameter names and domains, array shapes.
    """
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("schema") != SCHEMA:
        raise InputError(
            f"{where}: key 'schema' is {doc.get('schema')!r}; expected {SCHEMA!r} "
            "(write it with `distillscale fit -o FIT.json`)"
        )
    raw = dict(doc)
    head = parse_document(raw, where, HeadDoc)
    try:
        law = _read_head(head, where)
        return _read_fit(cls, law, parse_document(raw, where, FitDoc), where)
    except InputError as exc:
        if str(exc).startswith(where):
            raise
        raise InputError(f"{where}: {exc}") from None


# --- what depends on the law ---------------------------------------------------------------
def _law(where: str, name: str) -> Law:
    try:
        return get_law(name)
    except InputError as exc:
        raise InputError(f"{where}: key 'law': {exc}") from None


def _named(where: str, key: str, values: Mapping[str, Any], law: Law) -> None:
    """Every name in ``values`` is a parameter of ``law``."""
    for name in values:
        if name not in law.param_names:
            raise InputError(
                f"{where}: key '{key}.{name}' is not a parameter of law {law.name!r} "
                f"({', '.join(law.param_names)})"
            )


def _in_domain(where: str, key: str, law: Law, values: Mapping[str, float]) -> None:
    """Scale parameters (fitted as logs) must be > 0: the law's own check, naming the key."""
    try:
        law.to_fitting(values)
    except InputError as exc:
        raise InputError(f"{where}: key {key!r}: {exc}") from None


def _array(
    where: str, key: str, rows: list[list[float]], shape: tuple[int | None, int], *, finite: bool
) -> NDArray[np.float64]:
    """Nested lists of numbers with ``shape`` (None: any length >= 1); NaN is a null entry."""
    allowed = f"a list of {shape[0] or 'K'} lists of {shape[1]} " + (
        "finite numbers" if finite else "numbers or nulls"
    )
    if not rows or (shape[0] is not None and len(rows) != shape[0]):
        raise bad_key(where, key, rows, allowed)
    for row in rows:
        if len(row) != shape[1]:
            raise bad_key(where, key, row, allowed)
        if finite and not all(math.isfinite(v) for v in row):
            bad = next(v for v in row if not math.isfinite(v))
            raise bad_key(where, key, None if math.isnan(bad) else bad, allowed)
    return np.array(rows, dtype=float)


def _holdout(where: str, rows: list[HoldoutDoc] | None) -> tuple[HoldoutRow, ...] | None:
    if rows is None:
        return None
    out = []
    for i, row in enumerate(rows):
        key = f"holdout[{i}]"
        band, inside = row.prediction_interval, row.inside
        if row.model_fields_set & {"prediction_interval", "inside"}:
            if band is None:
                raise bad_key(where, f"{key}.prediction_interval", band, "a [low, high] pair")
            if inside is None:
                raise bad_key(where, f"{key}.inside", inside, "true or false")
        lower, upper = (None, None) if band is None else (band[0], band[1])
        out.append(
            HoldoutRow(
                run=row.run,
                observed=row.observed,
                predicted=row.predicted,
                rel_error=row.rel_error,
                lower=lower,
                upper=upper,
                inside=inside,
            )
        )
    return tuple(out)


def _read_head(doc: HeadDoc, where: str) -> Law:
    """The law, and its parameters: all of them, no others, inside the law's domain."""
    law = _law(where, doc.law)
    _named(where, "params", doc.params, law)
    if set(doc.params) != set(law.param_names):
        raise InputError(
            f"{where}: key 'params' has {sorted(doc.params)}; law {law.name!r} needs "
            f"{', '.join(law.param_names)}"
        )
    _in_domain(where, "params", law, doc.params)
    return law


def _read_fit(cls: type[Fit], law: Law, doc: FitDoc, where: str) -> Fit:
    """The law-dependent checks of :func:`read_fit_document`, each refusal naming its key."""
    params = dict(doc.params)
    fixed = dict(doc.fixed or {})
    _named(where, "fixed", fixed, law)
    names = doc.param_names or list(law.param_names)
    if names != list(law.param_names):
        raise bad_key(where, "param_names", names, f"{list(law.param_names)} (law {law.name!r})")
    if doc.ci_level is not None and not 0.0 < doc.ci_level < 1.0:
        raise bad_key(where, "ci_level", doc.ci_level, "a coverage in (0, 1), e.g. 0.9, or null")
    if doc.objective is not None and doc.objective < 0:
        raise bad_key(where, "objective", doc.objective, "a summed Huber loss >= 0, or null")
    p = len(law.param_names)
    samples = None
    if doc.bootstrap_samples is not None:
        samples = _array(where, "bootstrap_samples", doc.bootstrap_samples, (None, p), finite=True)
        if np.any(samples[:, law.log_mask] <= 0):
            raise bad_key(where, "bootstrap_samples", "a value <= 0", "scale parameters > 0")
    cov = None
    if doc.covariance is not None:
        cov = _array(where, "covariance", doc.covariance, (p, p), finite=False)
    if doc.supervised is not None and not law.derived_inputs:
        raise InputError(f"{where}: key 'supervised': law {law.name!r} takes no supervised fit")
    supervised = (
        None if doc.supervised is None else cls.from_json(doc.supervised, f"{where} (supervised)")
    )
    if supervised is not None and supervised.law_obj.inputs != ("params", "tokens"):
        raise InputError(
            f"{where}: key 'supervised' is a fit of law {supervised.law!r}; expected a "
            "supervised law of params and tokens (chinchilla or chinchilla-gamma)"
        )
    ci = None if doc.ci is None else {k: (v[0], v[1]) for k, v in doc.ci.items()}
    if ci is not None:
        _named(where, "ci", ci, law)
    d = doc.diagnostics
    return cls(
        law=law.name,
        params=params,
        ci=ci,
        ci_level=doc.ci_level,
        estimator=doc.estimator,
        delta=doc.delta,
        objective=doc.objective,
        n_points=doc.n_points,
        diagnostics=Diagnostics(
            converged=d.converged,
            at_bound=tuple(d.at_bound),
            warnings=read_warnings(d.warnings, d.warning_details, where),
            condition_number=d.condition_number,
            poorly_determined=tuple(d.poorly_determined),
        ),
        supervised=supervised,
        holdout=_holdout(where, doc.holdout),
        data_sha256=doc.data_sha256,
        version=doc.version,
        bootstrap_samples=samples,
        param_names=law.param_names,
        covariance=cov,
        fixed=fixed,
        source=doc.source,
        scale=doc.scale,
        residual_quantiles=read_residual_quantiles(where, doc.residual_quantiles),
        bounds=read_bounds(where, doc.bounds, law) or None,
        ties=read_ties(where, doc.ties, law) or None,
        data_range=read_data_range(where, doc.data_range, law.inputs) or None,
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
