"""Per-group row selection in plain Python: the last step per run, the best row per group.

Rows keep their input order: each group contributes its chosen row at that row's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from distillscale.errors import InputError

__all__ = ["best_per", "last_per"]


def _group_key(row: dict[str, Any], keys: Sequence[str], where: str) -> tuple[Any, ...]:
    missing = [k for k in keys if row.get(k) is None]
    if missing:
        raise InputError(
            f"{where}: the row has no {missing[0]!r}; every row needs the grouping columns "
            f"{', '.join(keys)}",
            hints=(("map", f"map one with columns={{{missing[0]!r}: '<key>'}}"),),
        )
    return tuple(row[k] for k in keys)


def _number(row: dict[str, Any], col: str, where: str) -> float:
    value = row.get(col)
    if isinstance(value, bool) or not isinstance(value, int | float):
        found = "no value" if value is None else repr(value)
        raise InputError(f"{where}: column {col!r}: {found} is not a number to compare")
    return float(value)


def _pick(
    rows: list[dict[str, Any]],
    wheres: list[str],
    keys: Sequence[str],
    col: str,
    better: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    chosen: dict[tuple[Any, ...], int] = {}
    for i, row in enumerate(rows):
        group = _group_key(row, keys, wheres[i])
        value = _number(row, col, wheres[i])
        j = chosen.get(group)
        if j is None:
            chosen[group] = i
            continue
        old = float(rows[j][col])
        if (better == "min" and value < old) or (better == "max" and value >= old):
            chosen[group] = i
    keep = sorted(chosen.values())
    return [rows[i] for i in keep], [wheres[i] for i in keep]


def last_per(
    rows: list[dict[str, Any]], wheres: list[str], keys: Sequence[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The row with the largest ``step`` of each group (ties: the later row)."""
    return _pick(rows, wheres, keys, "step", "max")


def best_per(
    rows: list[dict[str, Any]], wheres: list[str], keys: Sequence[str], by: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The row with the smallest ``by`` value of each group (ties: the earlier row)."""
    return _pick(rows, wheres, keys, by, "min")
