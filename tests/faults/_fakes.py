"""Fast stand-ins for the trainer and the cache builder that check their inputs' checksums.

They wrap ``tests/study/fakes.py``: a teacher's ``checkpoint.pt`` and a cache file are small
JSON documents carrying a SHA-256 of their content, and a reader that finds a missing or damaged
one raises :class:`DamagedFile`, as the real trainer and cache builder do.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from distillscale.errors import DamagedFile
from distillscale.study.worker import run_task_with
from study.fakes import fake_cache, fake_train

#: Set in the environment: every cache is damaged right after it is written.
DAMAGE_CACHES = "FAKE_DAMAGE_CACHES"


def _seal(path: Path) -> None:
    """Add a SHA-256 of the document's other keys to the JSON file ``path``."""
    doc = json.loads(path.read_text())
    doc["sha256"] = _digest(doc)
    path.write_text(json.dumps(doc))


def _digest(doc: dict) -> str:
    body = json.dumps({k: v for k, v in doc.items() if k != "sha256"}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def check(path: str | Path) -> dict:
    """The sealed document at ``path``, or :class:`DamagedFile`."""
    try:
        doc = json.loads(Path(path).read_text())
        ok = isinstance(doc, dict) and doc.get("sha256") == _digest(doc)
    except (OSError, ValueError) as exc:
        raise DamagedFile(path, f"{path}: cannot be read ({exc})") from exc
    if not ok:
        raise DamagedFile(path, f"{path}: damaged (SHA-256 mismatch)")
    return doc


def checked_train(config, workdir, progress=None):
    """``fake_train``, reading a student's cache through :func:`check`, sealing checkpoints."""
    if config.teacher_cache is not None:
        check(config.teacher_cache)
    result = fake_train(config, workdir, progress)
    _seal(Path(workdir) / "checkpoint.pt")
    return result


def checked_cache(teacher, data, *, tokens, seq_len, top_k, path, batch_size, device):
    """``fake_cache``, reading the teacher's checkpoint through :func:`check`, sealed."""
    check(teacher.checkpoint)
    info = fake_cache(
        teacher, data, tokens=tokens, seq_len=seq_len, top_k=top_k, path=path,
        batch_size=batch_size, device=device,
    )  # fmt: skip
    _seal(Path(path))
    if os.environ.get(DAMAGE_CACHES):  # a disk that damages what it stores
        Path(path).write_text(Path(path).read_text().replace("tokens", "tokenz"))
    return info


def checked_run_fn():
    """A picklable run function using the checking fakes."""
    return functools.partial(run_task_with, trainer=checked_train, cache_builder=checked_cache)
