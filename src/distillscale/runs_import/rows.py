"""Source rows and their canonical form: column aliases, ``--map``, validation and units.

Every importer yields :class:`SourceRow` objects: the values as the source names them (flat
``key -> value``) and the place the row came from (``runs.csv line 3``, an MLflow run's
folder, an event file). :func:`canonical_rows` renames keys to the run table's canonical
columns (docs/conventions.md; :data:`distillscale.table.CANONICAL_COLUMNS`), checks every canonical
value against its domain and converts losses to nats per token. Problems raise
:class:`~distillscale.errors.InputError` naming the place and the source key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distillscale.columns import loss_scale
from distillscale.errors import InputError
from distillscale.runs import TABLE_KINDS

__all__ = [
    "ALIASES",
    "CANONICAL",
    "Canonical",
    "SourceRow",
    "canonical_rows",
    "normalise_key",
]

#: Canonical column -> domain (docs/conventions.md "The run table"; the same as
#: ``distillscale.table.CANONICAL_COLUMNS``, which a test keeps in step). Kept here so that
#: importing runs does not load pandas.
CANONICAL: dict[str, str] = {
    "run": "text",
    "params": "count",
    "tokens": "count",
    "loss": "positive",
    "flops": "positive",
    "teacher_loss": "positive",
    "teacher_params": "count",
    "teacher_tokens": "count",
    "kind": "kind",
    "error": "fraction",
    "unique_tokens": "count",
    "step": "non_negative",
    "lr": "positive",
}
_LOSSES = ("loss", "teacher_loss")

#: Canonical column -> the source names recognised without ``--map``, compared after
#: :func:`normalise_key` (lower case, every run of other characters one ``_``, and a leading
#: ``config``/``summary``/``params``/``metrics``/``tags``/``hparams``/``hparam`` part dropped).
ALIASES: dict[str, tuple[str, ...]] = {
    "run": ("run", "run_id", "runid", "id", "run_name", "name"),
    "params": (
        "params", "n_params", "num_params", "nparams", "model_size", "parameters",
        "num_parameters", "n_parameters", "model_params", "non_embedding_params",
    ),
    "tokens": (
        "tokens", "tokens_seen", "num_tokens", "n_tokens", "train_tokens", "training_tokens",
        "total_tokens", "train_tokens_seen", "train_num_tokens",
    ),
    "loss": (
        "loss", "val_loss", "eval_loss", "validation_loss", "valid_loss", "val_ce",
        "eval_ce", "val_cross_entropy",
    ),
    "flops": ("flops", "train_flops", "training_flops", "total_flops", "compute"),
    "teacher_loss": ("teacher_loss", "teacher_val_loss", "teacher_eval_loss"),
    "teacher_params": ("teacher_params", "teacher_n_params", "teacher_num_params"),
    "teacher_tokens": ("teacher_tokens", "teacher_train_tokens"),
    "kind": ("kind", "run_kind"),
    "error": ("error", "downstream_error", "err"),
    "unique_tokens": ("unique_tokens", "num_unique_tokens"),
    "step": ("step", "global_step", "trainer_global_step", "iteration", "iter"),
    "lr": ("lr", "learning_rate", "optimizer_lr"),
}  # fmt: skip
_RUN_ORDER = ALIASES["run"]  # several id columns: the first in this order is the run id
_ALIAS_OF = {alias: canonical for canonical, names in ALIASES.items() for alias in names}
_PREFIXES = ("config_", "summary_", "params_", "metrics_", "tags_", "hparams_", "hparam_")
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_COUNT = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([kKmMbBgGtT])\s*$")


def normalise_key(key: str) -> str:
    """The form in which source keys are matched against :data:`ALIASES`.

    ``"val/loss"`` -> ``"val_loss"``; ``"config.n_params"`` -> ``"n_params"``;
    ``"Learning-Rate"`` -> ``"learning_rate"``.
    """
    text = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :]
    return text


@dataclass(slots=True)
class SourceRow:
    """One row as a source holds it.

    Parameters
    ----------
    values : dict of str to object
        Source key -> value (numbers, strings, booleans; None for an empty cell).
    where : str
        The place, for messages: ``"runs.csv line 3"``, ``"mlruns/1/ab12 (step 40)"``.
    history : bool
        The row is one step of a logged history (MLflow, TensorBoard, W&B ``history``): a
        step where a required metric was not logged is skipped, not an error.
    """

    values: dict[str, Any]
    where: str
    history: bool = False


@dataclass(slots=True)
class Canonical:
    """Rows in canonical form, and how many history steps were skipped as incomplete."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    wheres: list[str] = field(default_factory=list)
    skipped_steps: int = 0
    dropped: int = 0
    first_dropped: str | None = None


def _key_map(
    keys: Iterable[str], columns: Mapping[str, str], where: str
) -> tuple[dict[str, str], set[str]]:
    """Source key -> canonical name for the keys that map, and the keys ``--map`` replaces."""
    out: dict[str, str] = {}
    claimed: dict[str, str] = {}
    mapped = {theirs: canonical for canonical, theirs in columns.items()}
    keys = list(keys)
    for key in keys:
        if key in mapped:
            out[key] = mapped[key]
    replaced: set[str] = set()
    for key in keys:
        if key in out:
            continue
        canonical = _ALIAS_OF.get(normalise_key(key))
        if canonical is None:
            continue
        if canonical in columns:  # --map chose another key for this column
            replaced.add(key)
            continue
        if canonical == "run" and canonical in claimed:  # run > run_id > id > name, no error
            if _RUN_ORDER.index(normalise_key(key)) < _RUN_ORDER.index(
                normalise_key(claimed[canonical])
            ):
                del out[claimed[canonical]]
                claimed[canonical] = key
                out[key] = canonical
            continue
        if canonical in claimed:
            raise InputError(
                f"{where}: keys {claimed[canonical]!r} and {key!r} both name column {canonical!r}",
                hints=(("map", f"choose one with columns={{{canonical!r}: {key!r}}}"),),
            )
        claimed[canonical] = key
        out[key] = canonical
    return out, replaced


def _number(value: Any, domain: str) -> float | None:
    """A source value as a float (None when it is not a number at all)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        found = _COUNT.match(text) if domain == "count" else None
        if found:  # "125M", "1.4B", "2T": counts written with a suffix
            return float(found.group(1)) * _SUFFIX[found.group(2).lower()]
    return None


def _check(value: Any, canonical: str, key: str, where: str, scale: float) -> Any:
    """A canonical value checked against its domain; losses scaled to nats per token."""
    domain = CANONICAL[canonical]
    place = f"{where}, key {key!r}" + (f" ({canonical})" if key != canonical else "")
    if domain == "text":
        return str(value)
    if domain == "kind":
        text = str(value).strip().lower()
        if text not in TABLE_KINDS:
            raise InputError(f"{place}: {value!r} is not one of {', '.join(TABLE_KINDS)}")
        return text
    number = _number(value, domain)
    shown = repr(value) if isinstance(value, str) else str(value)
    if number is None or math.isnan(number):
        raise InputError(f"{place}: {shown} is not a number")
    if math.isinf(number):
        raise InputError(f"{place}: {shown} is infinite; {canonical} must be finite")
    bad = {
        "count": number <= 0,
        "positive": number <= 0,
        "non_negative": number < 0,
        "fraction": not 0.0 <= number <= 1.0,
    }[domain]
    if bad:
        allowed = {
            "count": "> 0 (a count)",
            "positive": "> 0",
            "non_negative": ">= 0",
            "fraction": "in [0, 1]",
        }[domain]
        hints = (("loss_unit", "a loss in other units: give loss_unit='bits' or 'bpb'"),)
        raise InputError(
            f"{place}: {shown} is not allowed; {canonical} must be {allowed}",
            hints=hints if canonical in _LOSSES else (),
        )
    return number * scale if canonical in _LOSSES else number


def canonical_rows(
    rows: Iterable[SourceRow],
    *,
    columns: Mapping[str, str] | None = None,
    required: Sequence[str] = (),
    loss_unit: str = "nats",
    bytes_per_token: float | None = None,
    drop_invalid: bool = False,
) -> Canonical:
    """Rename, check and convert source rows (see the module docstring).

    Parameters
    ----------
    rows : iterable of SourceRow
        As the importers yield them.
    columns : mapping, optional
        Canonical name -> source key (``--map params=n_embd_params``); wins over aliases, and
        a source key that an alias would have mapped to the same column is dropped.
    required : sequence of str
        Canonical columns every row must have. A history step without one is skipped
        (counted in ``skipped_steps``); any other row without one is an error. In a history
        step a count of 0 (``tokens_seen`` at step 0) is read as no value.
    loss_unit, bytes_per_token
        Unit of the source's losses (``nats``, ``bits``, ``bpb`` with bytes per token).
    drop_invalid : bool
        Drop rows with an invalid or missing value (counted in ``dropped``) instead of raising.

    Raises
    ------
    InputError
        Naming the place and the key: a value outside its column's domain, two keys naming one
        column, a missing required column.
    """
    columns = dict(columns or {})
    for canonical in columns:
        if canonical not in CANONICAL:
            raise InputError(
                f": {canonical!r} is not a canonical column; allowed: {', '.join(CANONICAL)}",
                subject=_map_subject(canonical, columns[canonical]),
            )
    scale = loss_scale(loss_unit, bytes_per_token)
    out = Canonical()
    seen_map: set[str] = set()
    for row in rows:
        try:
            key_map, replaced = _key_map(row.values, columns, row.where)
            seen_map.update(k for k in row.values if k in columns.values())
            values: dict[str, Any] = {}
            for key, value in row.values.items():
                if value is None or key in replaced:
                    continue
                name = key_map.get(key)
                if name is None:
                    if not (isinstance(value, float) and not math.isfinite(value)):
                        values[key] = value  # a NaN in an extra column is a missing value
                elif row.history and CANONICAL[name] == "count" and _number(value, "count") == 0:
                    continue  # tokens_seen = 0 at step 0: nothing trained yet, not a bad value
                else:
                    values[name] = _check(value, name, key, row.where, scale)
            missing = [c for c in required if c not in values]
            if missing and row.history:
                out.skipped_steps += 1
                continue
            if missing and missing[0] in columns:
                key = columns[missing[0]]
                raise InputError(
                    f"{row.where}: no key {key!r} for column {missing[0]!r}; keys present: "
                    f"{', '.join(map(str, row.values))}",
                    hints=(("map", f"check columns={{{missing[0]!r}: {key!r}}}"),),
                )
            if missing:
                raise InputError(
                    f"{row.where}: no value for required column(s) {', '.join(missing)}; keys "
                    f"present: {', '.join(map(str, row.values)) or 'none'}",
                    hints=(
                        (
                            "map",
                            f"name the source key with columns={{{missing[0]!r}: '<key>'}} "
                            "(or drop the requirement with required=)",
                        ),
                    ),
                )
        except InputError as exc:
            if not drop_invalid:
                raise
            out.dropped += 1
            out.first_dropped = out.first_dropped or str(exc)
            continue
        out.rows.append(values)
        out.wheres.append(row.where)
    unused = [(c, k) for c, k in columns.items() if k not in seen_map]
    if unused:
        canonical, key = unused[0]
        raise InputError(
            f": no source row has the key {key!r}", subject=_map_subject(canonical, key)
        )
    return out


def _map_subject(canonical: str, key: str) -> tuple[str, str, str]:
    """``columns={'params': 'q'}`` (``--map params=q`` on the command line)."""
    return ("columns", f"columns={{{canonical!r}: {key!r}}}", f"{canonical}={key}")
