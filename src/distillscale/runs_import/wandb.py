"""Weights & Biases exports: run objects with their config, summary and (optionally) history.

The expected JSON is what the W&B public API gives per run, one object per run, either as a
JSON array (``.json``; ``{"runs": [...]}`` also works) or one object per line (``.jsonl``)::

    import json, wandb
    runs = wandb.Api().runs("ENTITY/PROJECT")
    json.dump([{"id": r.id, "name": r.name, "state": r.state, "config": dict(r.config),
                "summary": dict(r.summary._json_dict)} for r in runs], open("runs.json", "w"))

Keys: ``id`` (becomes ``run``), ``name`` (``run_name``), ``state``, ``config`` (an object;
nested objects flatten to ``config.a.b``; values wrapped as ``{"value": ..., "desc": ...}``, as
in a run's raw ``config.yaml``, are unwrapped), ``summary`` (an object) and optionally
``history`` (a list of objects, e.g. ``list(r.scan_history())``). A run with a history gives one
row per history entry (its ``_step`` is ``step``; config values on every row); a run without
gives one row from its config and summary. Keys starting with ``_`` (``_runtime``,
``_timestamp``, ``_wandb``) are left out, except ``_step``. A CSV downloaded from a W&B runs
table needs no special reader: it is a CSV whose ``Name`` column is the run id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillscale.errors import InputError
from distillscale.runs_import.rows import SourceRow
from distillscale.runs_import.tabular import flatten, read_jsonl, strict_json

__all__ = ["is_wandb_record", "read_wandb"]


def is_wandb_record(record: dict[str, Any]) -> bool:
    """A JSON object shaped like a W&B run (a ``config``, ``summary`` or ``history`` key)."""
    return any(isinstance(record.get(k), dict | list) for k in ("config", "summary", "history"))


def _unwrap(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key.startswith("_"):
            continue
        if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
            value = value["value"]
        out[key] = value
    return out


def _public(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not k.startswith("_") or k == "_step"}


def _section(record: dict[str, Any], key: str, where: str, kind: type) -> Any:
    value = record.get(key, kind())
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise InputError(
            f"{where}: key {key!r} must be a JSON {'object' if kind is dict else 'list'}, "
            f"found {type(value).__name__}"
        )
    return value


def _run(record: dict[str, Any], where: str) -> Iterator[SourceRow]:
    run_id = record.get("id", record.get("name"))
    if run_id is None:
        raise InputError(f"{where}: key 'id' is missing; every W&B run needs its id (or name)")
    where = f"{where} (run {run_id!s})"
    config = flatten(_unwrap(_section(record, "config", where, dict)), "config.")
    base = {"run": str(run_id), "run_name": record.get("name"), "state": record.get("state")}
    history = _section(record, "history", where, list)
    if not history:
        summary = flatten(_public(_section(record, "summary", where, dict)), "summary.")
        yield SourceRow(values={**config, **summary, **base}, where=where)
        return
    for i, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise InputError(f"{where}: key 'history[{i}]' must be a JSON object")
        values = flatten(_public(entry))
        step = values.pop("_step", i)
        yield SourceRow(
            values={**config, **values, **base, "step": step},
            where=f"{where} history[{i}]",
            history=True,
        )


def read_wandb(path: Path) -> Iterator[SourceRow]:
    """Rows of a W&B JSON (array) or JSON Lines export (see the module docstring)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for record, where in read_jsonl(path):
            yield from _run(record, where)
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    doc = strict_json(text, str(path))
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list):
        doc = doc["runs"]
    if not isinstance(doc, list):
        raise InputError(
            f'{path}: expected a JSON array of W&B runs (or {{"runs": [...]}}), found '
            f"{type(doc).__name__}"
        )
    for i, record in enumerate(doc):
        where = f"{path} runs[{i}]"
        if not isinstance(record, dict):
            raise InputError(f"{where}: expected a JSON object, found {type(record).__name__}")
        yield from _run(record, where)
