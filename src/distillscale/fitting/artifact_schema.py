"""The shape of a ``distillscale.fit/1`` document as pydantic models, and their one-line errors.

The models check what a key holds (a finite JSON number, a string, true or false, a list, an
object); :mod:`distillscale.fitting.artifact` then checks what depends on the law (parameter
names, domains, array shapes). :func:`parse_document` turns the first validation error into an
:class:`~distillscale.errors.InputError` naming the file and the key
(``fit.json: key 'params.E' is malformed: found 'NaN'; expected a finite number``).
Numbers are JSON numbers or numpy ones from the Python API; booleans and strings are not.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Annotated, Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from distillscale.errors import InputError
from distillscale.laws import LAWS

__all__ = [
    "DiagnosticsDoc",
    "FitDoc",
    "HeadDoc",
    "HoldoutDoc",
    "bad_key",
    "is_number",
    "parse_document",
]


def is_number(value: Any) -> bool:
    """A JSON number, or a numpy one from the Python API; booleans are not numbers here."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _malformed(expected: str) -> PydanticCustomError:
    return PydanticCustomError("malformed", "{expected}", {"expected": expected})


def _finite(value: Any) -> float:
    if not is_number(value) or not math.isfinite(float(value)):
        raise _malformed("a finite number")
    return float(value)


def _positive(value: Any) -> float:
    if not is_number(value) or not math.isfinite(float(value)) or float(value) <= 0:
        raise _malformed("a finite number > 0")
    return float(value)


def _runs(value: Any) -> int:
    if not is_number(value) or not isinstance(value, Integral) or value < 1:
        raise _malformed("a whole number of runs >= 1, or null")
    return int(value)


def _cell(value: Any) -> float:
    """An array entry: a number, or null (NaN; ``to_json`` writes a non-finite entry as null)."""
    if value is None:
        return math.nan
    if not is_number(value):
        raise _malformed("numbers or nulls")
    return float(value)


Number = Annotated[float, PlainValidator(_finite)]
Positive = Annotated[float, PlainValidator(_positive)]
Runs = Annotated[int, PlainValidator(_runs)]
Cell = Annotated[float, PlainValidator(_cell)]
#: ``[low, high]``: a JSON list of two finite numbers.
Pair = Annotated[list[Number], Field(min_length=2, max_length=2)]


class _Doc(BaseModel):
    """Strict: no coercion of strings to numbers or of 1 to true; unknown keys are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


_M = TypeVar("_M", bound=_Doc)


class DiagnosticsDoc(_Doc):
    """``diagnostics``: convergence, bound and conditioning flags."""

    converged: bool
    at_bound: list[str] = []
    warnings: list[str] = []
    warning_details: list[Any] | None = None
    condition_number: Number | None = None
    poorly_determined: list[str] = []


class HoldoutDoc(_Doc):
    """One ``holdout`` entry; the interval keys only with an interval (exactly these keys)."""

    model_config = ConfigDict(extra="forbid")

    run: str
    observed: Number
    predicted: Number
    rel_error: Number
    prediction_interval: Pair | None = None
    inside: bool | None = None


class HeadDoc(_Doc):
    """The keys checked first: the law and its parameters (``schema`` is checked before)."""

    law: str
    params: dict[str, Number]


class FitDoc(HeadDoc):
    """The whole document, keys in the order they are checked."""

    fixed: dict[str, Number] | None = None
    param_names: Any = None  # must equal the law's names: checked with the law
    ci_level: Number | None = None
    n_points: Runs | None = None
    objective: Number | None = None
    bootstrap_samples: list[list[Cell]] | None = None
    covariance: list[list[Cell]] | None = None
    estimator: str
    version: str = ""
    supervised: dict[str, Any] | None = None
    ci: dict[str, Pair] | None = None
    delta: Positive
    diagnostics: DiagnosticsDoc
    holdout: list[HoldoutDoc] | None = None
    data_sha256: str | None = None
    source: str | None = None
    scale: Positive | None = None
    # checked by the modules that own them (intervals, constraints, extrapolation)
    residual_quantiles: Any = None
    bounds: Any = None
    ties: Any = None
    data_range: Any = None


#: What a built-in pydantic check expected, in the artifact's words.
_EXPECTED = {
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "tuple_type": "a [low, high] pair of finite numbers",
    "too_short": "a [low, high] pair of finite numbers",
    "too_long": "a [low, high] pair of finite numbers",
}
#: Keys whose expectation says more than their type.
_BY_KEY = {
    "law": f"a law name ({', '.join(LAWS)})",
    "estimator": "a string such as 'huber-grid'",
    "source": "a string or null",
    "data_sha256": "a string or null",
    "bootstrap_samples": "a list of K lists of finite numbers, one per parameter",
    "covariance": "a list of P lists of P numbers or nulls",
}
_STRINGS = ("at_bound", "warnings", "poorly_determined")
_HOLDOUT_KEYS = "keys run, observed, predicted, rel_error (and prediction_interval, inside)"


def _show(value: Any) -> str:
    """A short repr of a found value, for messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def bad_key(where: str, key: str, found: Any, allowed: str) -> InputError:
    """``where: key 'k' is malformed: found ...; expected ...``."""
    return InputError(
        f"{where}: key {key!r} is malformed: found {_show(found)}; expected {allowed}"
    )


def _key(loc: tuple[int | str, ...]) -> str:
    """``('holdout', 0, 'observed')`` -> ``holdout[0].observed``.

    A trailing entry index (an element of a pair or an array) names its key: the whole value is
    what is malformed.
    """
    parts = list(loc)
    while len(parts) > 1 and isinstance(parts[-1], int):
        parts.pop()
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _error(where: str, doc: dict[str, Any], exc: ValidationError) -> InputError:
    err = exc.errors(include_url=False)[0]
    loc, kind, found = tuple(err["loc"]), err["type"], err.get("input")
    if len(loc) >= 2 and loc[0] == "holdout" and isinstance(loc[1], int):
        if kind in ("missing", "extra_forbidden"):
            row = doc["holdout"][loc[1]]
            return bad_key(where, f"holdout[{loc[1]}]", sorted(row), _HOLDOUT_KEYS)
        if len(loc) == 2:
            return bad_key(where, f"holdout[{loc[1]}]", found, "a JSON object")
    if kind == "missing":
        return InputError(f"{where}: missing key {_key(loc)!r}")
    if kind == "malformed":
        allowed = str((err.get("ctx") or {}).get("expected", err["msg"]))
    elif loc == ("holdout",):
        allowed = "a list of objects"
    elif kind == "list_type" and loc[-1] in _STRINGS:
        allowed = "a list of strings"
    elif kind == "string_type" and len(loc) > 1 and isinstance(loc[-1], int):
        allowed = "a list of strings"
    else:
        allowed = _EXPECTED.get(kind, err["msg"])
    key = _key(loc)
    return bad_key(where, key, found, _BY_KEY.get(key, allowed))


def parse_document(doc: dict[str, Any], where: str, model: type[_M]) -> _M:
    """The document's keys checked for type by ``model`` (:class:`HeadDoc` or :class:`FitDoc`).

    The first problem is an InputError naming ``where`` and the key.
    """
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise _error(where, doc, exc) from None
