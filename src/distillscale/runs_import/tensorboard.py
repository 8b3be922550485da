"""TensorBoard event files (``events.out.tfevents.*``), read without TensorFlow.

A run is a folder holding event files, named by its path relative to the folder given (the
folder's own name when the events sit directly in it). Its rows are one per logged step: the
scalars logged at that step (``simple_value``, as ``SummaryWriter.add_scalar`` writes them, or
a scalar float/double/int tensor, as TF2's ``tf.summary.scalar`` writes them), keyed by tag,
plus ``step`` and ``run``. Hyperparameters logged with the hparams plugin
(``SummaryWriter.add_hparams``; the ``session_start_info`` record) are constants of every row
of their folder. Images, histograms, text and graphs are skipped. When a tag is logged twice at
one step, the later record wins.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillscale.errors import InputError
from distillscale.runs_import._proto import ProtoError, fields, records
from distillscale.runs_import.rows import SourceRow

__all__ = ["event_files", "read_tensorboard"]

_FLOAT, _DOUBLE, _INT32, _INT64 = 1, 2, 3, 9


def event_files(root: Path) -> list[Path]:
    """Event files under ``root`` (or ``root`` itself), sorted by path."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and "tfevents" in p.name)


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _tensor_scalar(buf: bytes) -> float | None:
    """The value of a scalar tensor (no dims, one element), or None for anything else."""
    dtype, content, values = 0, b"", []
    for number, wire, value in fields(buf):
        if number == 1 and wire == 0:
            dtype = int(value)
        elif number == 2 and isinstance(value, bytes):
            if any(n == 2 for n, _, _ in fields(value)):
                return None  # has a dimension: not a scalar
        elif number == 4 and isinstance(value, bytes):
            content = value
        elif number in (5, 6, 7, 10):
            values.extend(_numbers(number, wire, value))
    if content:
        fmt = {_FLOAT: "<f", _DOUBLE: "<d", _INT32: "<i", _INT64: "<q"}.get(dtype)
        if fmt is None or struct.calcsize(fmt) != len(content):
            return None
        return float(struct.unpack(fmt, content)[0])
    return float(values[0]) if len(values) == 1 else None


def _numbers(number: int, wire: int, value: int | bytes) -> list[float]:
    if number == 5:  # float_val
        if isinstance(value, bytes):
            return [v for (v,) in struct.iter_unpack("<f", value)]
    elif number == 6:  # double_val
        if isinstance(value, bytes):
            return [v for (v,) in struct.iter_unpack("<d", value)]
    if isinstance(value, int):  # int_val, int64_val, one varint
        return [float(_signed(value))]
    out, pos = [], 0  # packed varints
    while pos < len(value):
        shift, result = 0, 0
        while True:
            byte = value[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        out.append(float(_signed(result)))
    return out


def _hparams(content: bytes) -> dict[str, Any]:
    """``SessionStartInfo.hparams`` of an hparams plugin record (empty for other records)."""
    out: dict[str, Any] = {}
    for number, _, value in fields(content):
        if number != 3 or not isinstance(value, bytes):  # session_start_info
            continue
        for n2, _, entry in fields(value):
            if n2 != 1 or not isinstance(entry, bytes):  # hparams map entry
                continue
            key, item = "", None
            for n3, _, v3 in fields(entry):
                if n3 == 1 and isinstance(v3, bytes):
                    key = v3.decode("utf-8", "replace")
                elif n3 == 2 and isinstance(v3, bytes):
                    for n4, _, v4 in fields(v3):  # google.protobuf.Value
                        if n4 == 2 and isinstance(v4, bytes):
                            item = struct.unpack("<d", v4)[0]
                        elif n4 == 3 and isinstance(v4, bytes):
                            item = v4.decode("utf-8", "replace")
                        elif n4 == 4 and isinstance(v4, int):
                            item = bool(v4)
            if key:
                out[key] = item
    return out


def _value(buf: bytes) -> tuple[str, float | None, dict[str, Any]]:
    """``(tag, scalar or None, hparams)`` of one ``Summary.Value``."""
    tag, scalar, plugin, content, tensor = "", None, "", b"", b""
    for number, _, value in fields(buf):
        if number == 1 and isinstance(value, bytes):
            tag = value.decode("utf-8", "replace")
        elif number == 2 and isinstance(value, bytes):
            scalar = struct.unpack("<f", value)[0]
        elif number == 8 and isinstance(value, bytes):
            tensor = value
        elif number == 9 and isinstance(value, bytes):
            for n2, _, v2 in fields(value):
                if n2 == 1 and isinstance(v2, bytes):
                    for n3, _, v3 in fields(v2):
                        if n3 == 1 and isinstance(v3, bytes):
                            plugin = v3.decode("utf-8", "replace")
                        elif n3 == 2 and isinstance(v3, bytes):
                            content = v3
    if plugin == "hparams":
        return tag, None, _hparams(content)
    if scalar is None and tensor and plugin in ("", "scalars"):
        scalar = _tensor_scalar(tensor)
    return tag, scalar, {}


def _read_file(path: Path, steps: dict[int, dict[str, Any]], constants: dict[str, Any]) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for number, payload in records(data, str(path)):
        try:
            step, summary = 0, b""
            for n, _, value in fields(payload):
                if n == 2 and isinstance(value, int):
                    step = _signed(value)
                elif n == 5 and isinstance(value, bytes):
                    summary = value
            for n, _, value in fields(summary):
                if n != 1 or not isinstance(value, bytes):
                    continue
                tag, scalar, hparams = _value(value)
                constants.update(hparams)
                if scalar is not None and tag:
                    steps.setdefault(step, {})[tag] = float(scalar)
        except (ProtoError, struct.error, IndexError) as exc:
            raise InputError(
                f"{path}: record {number}: not a TensorBoard Event message ({exc})"
            ) from None


def read_tensorboard(root: Path) -> Iterator[SourceRow]:
    """Rows of every run under a TensorBoard log folder (see the module docstring)."""
    files = event_files(root)
    if not files:
        raise InputError(
            f"{root}: no TensorBoard event files (events.out.tfevents.*) in it or below it"
        )
    by_dir: dict[Path, list[Path]] = {}
    for path in files:
        by_dir.setdefault(path.parent, []).append(path)
    base = root if root.is_dir() else root.parent
    for folder, paths in by_dir.items():
        rel = folder.relative_to(base).as_posix()
        run = base.name if rel == "." else rel
        steps: dict[int, dict[str, Any]] = {}
        constants: dict[str, Any] = {}
        for path in paths:  # sorted by name: the writer's timestamp, so later files win
            _read_file(path, steps, constants)
        if not steps:
            steps[0] = {}
        for step in sorted(steps):
            values = {**constants, **steps[step], "run": run, "step": step}
            yield SourceRow(values=values, where=f"{folder} step {step}", history=True)
