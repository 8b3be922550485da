"""Checksums of the files training writes, and what to do with a damaged one.

* Checkpoints carry ``sha256``: the SHA-256 of their content (every tensor's dtype, shape and
  bytes, every key and scalar), computed before ``torch.save`` and checked after
  ``torch.load``. torch itself checks nothing: a flipped byte in a tensor loads as another
  number.
* Logit caches carry one SHA-256 per chunk of sequences of each array, and one of their header
  (:mod:`distillscale.train.logit_cache`); a reader checks the chunks it will read.

A damaged file is moved aside to ``NAME.damaged`` (one copy, replaced by the next) with a
warning naming it, so that the run or cache that wrote it can be rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["DAMAGED_SUFFIX", "array_digests", "quarantine", "state_digest"]

log = logging.getLogger(__name__)

#: Suffix of a damaged file moved aside.
DAMAGED_SUFFIX = ".damaged"


def _feed(h: Any, obj: Any) -> None:
    """Feed ``obj`` to the hash ``h`` with type tags, so that distinct values hash apart."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu").contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(obj.shape)}:".encode())
        h.update(t.view(torch.uint8).numpy().data)
    elif isinstance(obj, Mapping):
        h.update(f"D{len(obj)}:".encode())
        for key, value in obj.items():
            _feed(h, key)
            _feed(h, value)
    elif isinstance(obj, list | tuple):
        h.update(f"L{len(obj)}:".encode())
        for value in obj:
            _feed(h, value)
    elif obj is None or isinstance(obj, bool | int | float | str):
        text = repr(obj).encode()
        h.update(f"{type(obj).__name__}{len(text)}:".encode() + text)
    else:
        raise TypeError(f"cannot checksum a {type(obj).__name__} in a checkpoint")


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a checkpoint's content, every key but ``sha256`` itself.

    Tensors count by dtype, shape and bytes (on CPU), so the digest of a state before
    ``torch.save`` equals that of the state ``torch.load`` returns.
    """
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in state.items() if k != "sha256"})
    return h.hexdigest()


def array_digests(array: np.ndarray, rows_per_chunk: int) -> list[str]:
    """SHA-256 (hex) of each block of ``rows_per_chunk`` leading-axis rows of ``array``."""
    out = []
    for first in range(0, array.shape[0], rows_per_chunk):
        block = np.ascontiguousarray(array[first : first + rows_per_chunk])
        out.append(hashlib.sha256(block.reshape(-1).view(np.uint8).data).hexdigest())
    return out


def quarantine(path: str | Path, why: str) -> Path | None:
    """Move a damaged file aside to ``PATH.damaged`` with a warning; the new path, or None.

    None when the file is already gone (another process moved it, or it was never written).
    """
    path = Path(path)
    aside = path.with_name(path.name + DAMAGED_SUFFIX)
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    log.warning("%s is damaged (%s); moved aside to %s, it will be rebuilt", path, why, aside.name)
    return aside
