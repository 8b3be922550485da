"""Canonical run-table column names, ``--map`` parsing and loss units, without pandas.

Shared by :mod:`distillscale.table` (which reads tables with pandas) and
:mod:`distillscale.runs_import` (which must not load pandas), so both accept the same ``--map``
and ``--loss-unit`` options with the same messages. Column meanings: docs/conventions.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from distillscale.errors import InputError

__all__ = ["CANONICAL_NAMES", "LOSS_UNITS", "loss_scale", "parse_column_map"]

#: The run table's canonical columns, in docs/conventions.md's order.
CANONICAL_NAMES: tuple[str, ...] = (
    "run",
    "params",
    "tokens",
    "loss",
    "flops",
    "teacher_loss",
    "teacher_params",
    "teacher_tokens",
    "kind",
    "error",
    "unique_tokens",
    "step",
    "lr",
)

#: Loss units accepted on input; every loss is stored in nats per token.
LOSS_UNITS = ("nats", "bits", "bpb")


def parse_column_map(items: Sequence[str]) -> dict[str, str]:
    """Parse the CLI's repeated ``--map canonical=theirs`` options into ``{canonical: theirs}``.

    The flag's own parser, called only by the command line (Python callers pass ``columns=``
    directly), so its errors name ``--map`` and what was typed after it.

    Raises
    ------
    InputError
        For an item without ``=``, an empty side, an unknown canonical name, or a canonical name
        given twice.
    """
    mapping: dict[str, str] = {}
    for item in items:
        canonical, sep, theirs = (part.strip() for part in item.partition("="))
        if not sep or not canonical or not theirs:
            raise InputError(
                f"--map {item!r}: expected CANONICAL=YOUR_COLUMN, e.g. --map params=n_params"
            )
        if canonical not in CANONICAL_NAMES:
            raise InputError(
                f"--map {item}: {canonical!r} is not a canonical column; "
                f"allowed: {', '.join(CANONICAL_NAMES)}"
            )
        if canonical in mapping:
            raise InputError(f"--map {canonical}= given twice ({mapping[canonical]}, {theirs})")
        mapping[canonical] = theirs
    return mapping


def loss_scale(loss_unit: str, bytes_per_token: float | None) -> float:
    """Factor from the source's loss unit (nats, bits or bits per byte) to nats per token.

    Raises
    ------
    InputError
        For an unknown unit, ``bpb`` without a positive ``bytes_per_token``, or
        ``bytes_per_token`` with another unit.
    """
    if loss_unit not in LOSS_UNITS:
        raise InputError(
            f" is not supported; allowed: {', '.join(LOSS_UNITS)}",
            subject=("loss_unit", f"loss_unit={loss_unit!r}", repr(loss_unit)),
        )
    if loss_unit == "bpb":
        if bytes_per_token is None or not (math.isfinite(bytes_per_token) and bytes_per_token > 0):
            raise InputError(
                f" needs a bytes per token > 0 (got {bytes_per_token}): "
                "bits per byte x bytes per token x ln 2 = nats per token",
                subject=("loss_unit", "loss_unit='bpb'", "bpb"),
                hints=(("bytes_per_token", "give bytes_per_token=B"),),
            )
        return bytes_per_token * math.log(2.0)
    if bytes_per_token is not None:
        raise InputError(
            f" applies only to bits per byte, not to loss unit {loss_unit!r}",
            subject=("bytes_per_token", f"bytes_per_token={bytes_per_token}", f"{bytes_per_token}"),
        )
    return math.log(2.0) if loss_unit == "bits" else 1.0
