"""Predictions far outside the fitted data: range warnings and the absurd-value refusal.

A fit records the range of each input it was fitted on (``data_range`` in the artifact:
``{"params": [lo, hi], "tokens": [lo, hi], "teacher_loss": [lo, hi]}``; counts for params
and tokens, nats per token for losses). A query is flagged when

- a count (``params``, ``tokens``) lies more than ``COUNT_FACTOR`` (10x) above the largest
  fitted value or below a tenth of the smallest;
- a loss input (``teacher_loss``, the downstream law's ``loss``) lies outside the fitted range
  by more than ``LOSS_MARGIN`` (10%) of its width.

A predicted loss above ``ABSURD_LOSS`` (100 nats per token; a uniform guess over a 2^100-token
vocabulary would do better) is refused: it is the law evaluated where it means nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import InputError

__all__ = [
    "ABSURD_LOSS",
    "COUNT_FACTOR",
    "LOSS_MARGIN",
    "check_absurd",
    "data_range",
    "range_warnings",
    "read_data_range",
]

#: How far beyond the fitted range (a factor) a count input may go without a warning.
COUNT_FACTOR = 10.0
#: How far outside the fitted range (a fraction of its width) a loss input may go.
LOSS_MARGIN = 0.1
#: Predicted losses above this many nats per token are refused.
ABSURD_LOSS = 100.0
_COUNTS = ("params", "tokens")


def data_range(
    x: Mapping[str, NDArray[np.float64]], inputs: tuple[str, ...]
) -> dict[str, tuple[float, float]]:
    """(min, max) of each of ``inputs`` over the fitted runs."""
    out = {}
    for k in inputs:
        v = np.asarray(x[k], dtype=float)
        v = v[np.isfinite(v)]
        if v.size:
            out[k] = (float(v.min()), float(v.max()))
    return out


def range_warnings(
    fitted: Mapping[str, tuple[float, float]] | None,
    x: Mapping[str, Any],
    name: str,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """One warning per input whose queried values leave the fitted range (see module doc).

    Parameters
    ----------
    fitted : mapping or None
        The fit's ``data_range``; None (a published set without one) gives no warnings.
    x : mapping of str to array_like
        The queried inputs.
    name : str
        How to name the fit in messages (its path or ``@name``).
    labels : mapping, optional
        How to name each input (default: its :meth:`Fit.predict` argument, ``params``; the
        command line passes its flags, ``--params``).
    """
    out: list[str] = []
    for key, (lo, hi) in (fitted or {}).items():
        if key not in x or x[key] is None:
            continue
        v = np.asarray(x[key], dtype=float).ravel()
        if v.size == 0:
            continue
        top, bottom = float(np.max(v)), float(np.min(v))
        if key in _COUNTS:
            far_hi, far_lo = top > COUNT_FACTOR * hi, bottom < lo / COUNT_FACTOR
            rule = f"more than {COUNT_FACTOR:g}x beyond"
            span = f"{lo:.3g}..{hi:.3g}"
        else:
            width = max(hi - lo, 1e-12)
            far_hi, far_lo = top > hi + LOSS_MARGIN * width, bottom < lo - LOSS_MARGIN * width
            rule = f"more than {LOSS_MARGIN:.0%} of its width outside"
            span = f"{lo:.4g}..{hi:.4g}"
        for far, value in ((far_hi, top), (far_lo, bottom)):
            if far:
                label = (labels or {}).get(key, key)
                out.append(
                    f"{label} {value:.3g} is {rule} the {key} range {name} was fitted on "
                    f"({span}): the prediction is an extrapolation; check it against runs at "
                    "that scale"
                )
    return out


def check_absurd(
    values: NDArray[np.float64], output: str, name: str, *, points: str | None = None
) -> None:
    """Refuse predicted losses above ``ABSURD_LOSS`` nats per token (loss laws only).

    ``points``: the file the query points came from, named in the message with the point.

    Raises
    ------
    InputError
        Naming the largest value, the fit and (with ``points``) the point and its file.
    """
    if output != "loss":
        return
    v = np.asarray(values, dtype=float).ravel()
    if not v.size:
        return
    bad = ~np.isfinite(v) | (v > ABSURD_LOSS)
    if not bad.any():
        return
    # the first non-finite point, else the largest loss
    finite = np.isfinite(v)
    i = int(np.argmax(~finite)) if not finite.all() else int(np.argmax(v))
    at = f" at point {i + 1} of {points}" if points is not None else ""
    raise InputError(
        f"{name}: predicted loss {float(v[i]):.4g} nats per token{at} is absurd (over "
        f"{ABSURD_LOSS:g}); the query lies far outside where the law means anything: "
        "predict inside (or near) the range the fit was made on"
    )


def read_data_range(
    where: str, value: Any, inputs: tuple[str, ...]
) -> dict[str, tuple[float, float]]:
    """The artifact's ``data_range``: null, or ``{input: [lo, hi]}`` with finite lo <= hi."""
    if value is None:
        return {}
    out: dict[str, tuple[float, float]] = {}
    ok = isinstance(value, Mapping)
    for k, pair in value.items() if isinstance(value, Mapping) else ():
        good = (
            k in inputs
            and isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
            and all(math.isfinite(v) for v in pair)
            and pair[0] <= pair[1]
        )
        if not good:
            ok = False
            break
        out[k] = (float(pair[0]), float(pair[1]))
    if not ok:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise InputError(
            f"{where}: key 'data_range' is malformed: found {shown}; expected an object of "
            f"[low, high] pairs for {', '.join(inputs)}, or null"
        )
    return out
