"""Teacher-logit cache: one teacher pass writes top-k log-probabilities that students read.

File layout (little-endian, memory-mapped):

* 8 bytes magic ``b"DSLOGIT1"``, 8 bytes header length ``n`` (uint64), ``n`` bytes of JSON
  header padded with spaces to a multiple of 64: ``teacher_run_id``, ``teacher_shape``,
  ``data_hash``, ``seed``, ``seq_len``, ``sequences``, ``n_tokens``, ``top_k``, ``vocab_size``,
  ``index_dtype``, ``temperature`` (always 1: log-probs of the teacher's own softmax), ``flops``,
  and the checksums: ``chunk_sequences`` ``C``, ``sha256`` (for each array, the SHA-256 of each
  block of ``C`` sequences) and ``header_sha256`` (of the header's other keys, as sorted JSON);
* ``logp``: float16 ``(sequences, seq_len, top_k)``, the kept log-probabilities (nats), sorted
  from most to least likely;
* ``index``: uint16 (vocabularies up to 65536) or uint32 ``(sequences, seq_len, top_k)``;
* ``log_rest``: float16 ``(sequences, seq_len)``, log of the teacher mass outside the kept set.

So a position costs ``top_k * (2 + 2) + 2`` bytes with uint16 ids (258 at k = 64). Sequence
``j`` of the cache is sequence ``j`` of the training stream with the same data seed
(:func:`distillscale.train.data.sequence_starts`), so a student's batch ``i`` reads cache
sequences ``[i B, (i + 1) B)``. Opening a cache checks its header against the student's data
hash, vocabulary, context, seed and length; a mismatch is an :class:`InputError`. It also
checks the file's size, the header's checksum and those of the chunks the student will read;
a damaged cache is a :class:`~distillscale.errors.DamagedFile` (caches written before
checksums, format ``/1``, are read unchecked with a warning). The file is preallocated
(``posix_fallocate``) before it is mapped, so a full disk is an ``OSError`` (ENOSPC), never a
SIGBUS.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distillscale.atomic import atomic_path
from distillscale.errors import DamagedFile, InputError
from distillscale.flops import TransformerShape, logit_cache_flops
from distillscale.runs.config import DataConfig, TeacherRef, shape_from_dict, shape_to_dict
from distillscale.runs.result import CacheInfo
from distillscale.train.checkpoint import load_model
from distillscale.train.data import load_corpus, sequence_starts
from distillscale.train.integrity import array_digests
from distillscale.train.losses import SparseTeacher, sparse_teacher

__all__ = ["LogitCache", "build_logit_cache", "open_logit_cache"]

log = logging.getLogger(__name__)

MAGIC = b"DSLOGIT1"
#: The header's ``format``; ``/1`` caches have no checksums.
FORMAT = "distillscale.logit_cache/2"
#: Bytes of float16 log-probabilities per checksummed chunk (about; at least one sequence).
CHUNK_BYTES = 4 << 20
#: At most this many chunks per array (bigger chunks for bigger caches: a bounded header).
MAX_CHUNKS = 1024


@dataclass(frozen=True, slots=True)
class LogitCache:
    """An open cache: its header and read-only memory maps."""

    path: Path
    header: dict[str, Any]
    logp: np.memmap
    index: np.memmap
    log_rest: np.memmap
    top_k: int

    @property
    def teacher_shape(self) -> TransformerShape:
        """The teacher that wrote the cache."""
        return shape_from_dict(self.header["teacher_shape"])

    def read(self, first: int, count: int, device: torch.device | str = "cpu") -> SparseTeacher:
        """Sequences ``first .. first + count - 1`` as a truncated teacher at tau = 1.

        When the cache keeps more tokens than ``top_k`` asked, the extra (least likely) ones
        join the remaining mass.
        """
        sl = slice(first, first + count)
        logp = torch.from_numpy(np.asarray(self.logp[sl], dtype=np.float32))  # (b, T, K)
        index = torch.from_numpy(np.asarray(self.index[sl], dtype=np.int64))  # (b, T, K)
        rest = torch.from_numpy(np.asarray(self.log_rest[sl], dtype=np.float32))  # (b, T)
        k = self.top_k
        if k < logp.size(-1):
            dropped = torch.logsumexp(logp[..., k:], dim=-1)  # (b, T)
            rest = torch.logaddexp(rest, dropped)
            logp, index = logp[..., :k], index[..., :k]
        return SparseTeacher(
            logp=logp.to(device), index=index.to(device), log_rest=rest.to(device), temperature=1.0
        )


def _layout(header: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...], np.dtype]:
    n, t, k = header["sequences"], header["seq_len"], header["top_k"]
    return (n, t, k), (n, t), np.dtype(header["index_dtype"])


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    try:
        with path.open("rb") as fh:
            magic = fh.read(8)
            size = int.from_bytes(fh.read(8), "little")
            if magic != MAGIC or not 0 < size < 1 << 20:
                raise DamagedFile(
                    path, f"logit cache {path}: not a distillscale logit cache (bad magic)"
                )
            header = json.loads(fh.read(size))
    except OSError as exc:
        raise DamagedFile(
            path,
            f"logit cache {path}: cannot be read ({exc.strerror or exc}); build it with "
            "build_logit_cache or fix the path",
        ) from exc
    except ValueError as exc:  # invalid JSON or UTF-8
        raise DamagedFile(path, f"logit cache {path}: damaged header ({exc})") from exc
    if not isinstance(header, dict):
        raise DamagedFile(path, f"logit cache {path}: damaged header (not a JSON object)")
    recorded = header.get("header_sha256")
    if recorded is not None and recorded != _header_digest(header):
        raise DamagedFile(path, f"logit cache {path}: damaged header (SHA-256 mismatch)")
    try:
        _layout(header)
        expected = 16 + size + _data_bytes(header)
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedFile(path, f"logit cache {path}: damaged header ({exc!r})") from exc
    actual = path.stat().st_size
    if actual != expected:
        raise DamagedFile(
            path,
            f"logit cache {path}: {actual} bytes but its header describes {expected} "
            "(truncated or damaged)",
        )
    return header, 16 + size


def _header_digest(header: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in header.items() if k != "header_sha256"}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _data_bytes(header: dict[str, Any]) -> int:
    shape3, shape2, index_dtype = _layout(header)
    n3, n2 = math.prod(shape3), math.prod(shape2)
    return 2 * n3 + index_dtype.itemsize * n3 + 2 * n2


def _verify(cache: LogitCache, sequences: int) -> None:
    """Check the chunks of the first ``sequences`` sequences of each array against the header."""
    recorded = cache.header.get("sha256")
    if recorded is None:
        log.warning("logit cache %s: format /1, has no checksums; read unchecked", cache.path)
        return
    c = int(cache.header["chunk_sequences"])
    chunks = math.ceil(sequences / c)
    for name, array in (("logp", cache.logp), ("index", cache.index), ("log_rest", cache.log_rest)):
        actual = array_digests(array[: chunks * c], c)
        want = list(recorded[name][:chunks])
        bad = [i for i, a in enumerate(actual) if i >= len(want) or a != want[i]]
        if bad:
            first = bad[0] * c
            raise DamagedFile(
                cache.path,
                f"logit cache {cache.path}: damaged: {len(bad)} chunk(s) of {name!r} fail their "
                f"SHA-256 (first at sequence {first}); rebuild the cache",
            )


def open_logit_cache(
    path: str | Path,
    *,
    data_hash: str,
    vocab_size: int,
    seq_len: int,
    seed: int,
    sequences: int,
    top_k: int | None,
    teacher_run_id: str | None = None,
) -> LogitCache:
    """Open a cache and verify it matches the student that will read it.

    Parameters
    ----------
    path : str or Path
        The cache file.
    data_hash : str
        The student's ``Corpus.data_hash``.
    vocab_size, seq_len, seed : int
        The student's vocabulary (tokens), context (tokens) and data-stream seed.
    sequences : int
        Training sequences the student will read (``steps * batch_size``).
    top_k : int or None
        Tokens the student's loss keeps; None uses all the cache holds.
    teacher_run_id : str or None
        The expected teacher, if known.

    Returns
    -------
    LogitCache
        Memory-mapped, read-only.

    Raises
    ------
    DamagedFile
        Unreadable, truncated, or a checksum of the header or of the chunks holding the first
        ``sequences`` sequences does not match.
    InputError
        The cache was built for another student (data, vocabulary, context, seed, teacher,
        length, k).
    """
    path = Path(path)
    header, offset = _read_header(path)
    expected = {
        "data_hash": data_hash,
        "vocab_size": vocab_size,
        "seq_len": seq_len,
        "seed": seed,
    }
    if teacher_run_id is not None:
        expected["teacher_run_id"] = teacher_run_id
    for key, want in expected.items():
        if header.get(key) != want:
            raise InputError(
                f"logit cache {path}: header {key}={header.get(key)!r} but the student has "
                f"{want!r}; rebuild the cache for this student's data, tokenizer, seq_len, "
                "seed and teacher"
            )
    if header["sequences"] < sequences:
        raise InputError(
            f"logit cache {path}: holds {header['sequences']} sequences, the student needs "
            f"{sequences}; rebuild it with tokens >= {sequences * seq_len}"
        )
    k = header["top_k"] if top_k is None else top_k
    if k > header["top_k"]:
        raise InputError(
            f"kd.top_k: {k} but logit cache {path} keeps only {header['top_k']} tokens; "
            f"use top_k <= {header['top_k']} or rebuild the cache"
        )
    shape3, shape2, index_dtype = _layout(header)
    logp = np.memmap(path, dtype=np.float16, mode="r", offset=offset, shape=shape3)
    offset += logp.nbytes
    index = np.memmap(path, dtype=index_dtype, mode="r", offset=offset, shape=shape3)
    offset += index.nbytes
    rest = np.memmap(path, dtype=np.float16, mode="r", offset=offset, shape=shape2)
    cache = LogitCache(path=path, header=header, logp=logp, index=index, log_rest=rest, top_k=k)
    _verify(cache, sequences)
    return cache


def bytes_per_token(top_k: int, vocab_size: int) -> int:
    """File bytes per cached position: float16 log-probs, ids, float16 remaining mass."""
    index_bytes = 2 if vocab_size <= 2**16 else 4
    return top_k * (2 + index_bytes) + 2


def build_logit_cache(
    teacher: TeacherRef,
    data: DataConfig,
    *,
    tokens: int,
    seq_len: int,
    top_k: int,
    path: str | Path,
    batch_size: int = 16,
    device: str = "auto",
) -> CacheInfo:
    """Run the teacher once over the first ``tokens`` positions of the training stream.

    Parameters
    ----------
    teacher : TeacherRef
        The frozen teacher (its checkpoint is loaded).
    data : DataConfig
        The students' data; its seed orders the stream, so students must use the same.
    tokens : int
        Positions to cover (count), rounded up to whole sequences of ``seq_len``.
    seq_len : int
        The students' context (tokens), at most the teacher's.
    top_k : int
        Log-probabilities kept per position, ``1 <= top_k < vocab_size``.
    path : str or Path
        Output file, written through a temporary file and renamed when complete.
    batch_size : int
        Sequences per teacher forward pass.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    CacheInfo
        Path, positions covered, k, bytes per position and the teacher FLOPs spent.
    """
    shape = teacher.shape
    if not 1 <= top_k < shape.vocab_size:
        raise InputError(
            f"top_k: {top_k} must be in [1, {shape.vocab_size - 1}] for the teacher's "
            f"vocabulary of {shape.vocab_size} tokens"
        )
    if not 1 <= seq_len <= shape.seq_len:
        raise InputError(
            f"seq_len: {seq_len} must be in [1, {shape.seq_len}] (the teacher's context)"
        )
    hf_teacher = teacher.checkpoint.startswith("hf:")
    if not hf_teacher and not Path(teacher.checkpoint).exists():
        raise DamagedFile(
            teacher.checkpoint, f"teacher: checkpoint {teacher.checkpoint!r} does not exist"
        )
    corpus = load_corpus(data)
    if corpus.vocab_size != shape.vocab_size:
        raise InputError(
            f"teacher {teacher.run_id}: vocabulary {shape.vocab_size} tokens but data "
            f"{data.corpus!r} has {corpus.vocab_size}; build the cache on the teacher's tokenizer"
        )
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    dev = torch.device("cuda" if use_cuda else "cpu")
    model: torch.nn.Module
    if hf_teacher:
        from distillscale.train.hf import load_hf_model

        model = load_hf_model(teacher, dev, tokenizer_hash=corpus.tokenizer_hash)
    else:
        model = load_model(teacher.checkpoint, dev, corpus=corpus)
    n_seq = max(1, math.ceil(tokens / seq_len))
    cache_shape = dataclasses.replace(shape, seq_len=seq_len)
    flops = logit_cache_flops(cache_shape, n_seq * seq_len)
    index_dtype = np.dtype(np.uint16 if shape.vocab_size <= 2**16 else np.uint32)
    header = {
        "format": "distillscale.logit_cache/1",
        "teacher_run_id": teacher.run_id,
        "teacher_shape": shape_to_dict(shape),
        "data_hash": corpus.data_hash,
        "seed": data.seed,
        "seq_len": seq_len,
        "sequences": n_seq,
        "n_tokens": n_seq * seq_len,
        "top_k": top_k,
        "vocab_size": shape.vocab_size,
        "index_dtype": index_dtype.str,
        "temperature": 1.0,
        "flops": flops,
    }
    chunk = max(1, CHUNK_BYTES // (2 * seq_len * top_k), math.ceil(n_seq / MAX_CHUNKS))
    zero = "0" * 64  # placeholders of the digests' length: the header keeps its size
    header.update(
        format=FORMAT,
        chunk_sequences=chunk,
        sha256={a: [zero] * math.ceil(n_seq / chunk) for a in ("logp", "index", "log_rest")},
        header_sha256=zero,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, unique=False, fsync=False) as tmp:  # fsynced below
        text = _header_text(header)
        total = 16 + len(text) + _data_bytes(header)
        with tmp.open("wb") as fh:
            fh.write(MAGIC + len(text).to_bytes(8, "little") + text)
            fh.flush()
            # allocate every block now: a full disk fails here (ENOSPC), not as a SIGBUS later
            os.posix_fallocate(fh.fileno(), 0, total)
        _fill(tmp, header, 16 + len(text), model, corpus.train, batch_size, dev)
        final = _header_text(header, pad_to=len(text))
        with tmp.open("r+b") as fh:
            fh.seek(16)
            fh.write(final)
            fh.flush()
            os.fsync(fh.fileno())
    log.info("logit cache %s: %d positions, k=%d", path, n_seq * seq_len, top_k)
    return CacheInfo(
        path=str(path),
        tokens=n_seq * seq_len,
        top_k=top_k,
        bytes_per_token=bytes_per_token(top_k, shape.vocab_size),
        flops=flops,
    )


def _header_text(header: dict[str, Any], pad_to: int | None = None) -> bytes:
    """The header as sorted JSON padded with spaces (to ``pad_to`` bytes, or a multiple of 64)."""
    header["header_sha256"] = _header_digest(header)
    text = json.dumps(header, sort_keys=True).encode()
    if pad_to is None:
        return text + b" " * (-(16 + len(text)) % 64)
    assert len(text) <= pad_to, "the header grew while the cache was written"
    return text + b" " * (pad_to - len(text))


def _fill(
    path: Path,
    header: dict[str, Any],
    offset: int,
    model: torch.nn.Module,
    train: np.ndarray,
    batch_size: int,
    device: torch.device,
) -> None:
    """Run the teacher over the stream and write the three arrays of the cache."""
    shape3, shape2, index_dtype = _layout(header)
    logp = np.memmap(path, dtype=np.float16, mode="r+", offset=offset, shape=shape3)
    index = np.memmap(path, dtype=index_dtype, mode="r+", offset=offset + logp.nbytes, shape=shape3)
    rest = np.memmap(
        path, dtype=np.float16, mode="r+", offset=offset + logp.nbytes + index.nbytes, shape=shape2
    )
    n, t, k = shape3
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    with torch.no_grad(), autocast:
        for first in range(0, n, batch_size):
            count = min(batch_size, n - first)
            starts = sequence_starts(header["seed"], first, count, train.size, t)
            x = np.asarray(train[starts[:, None] + np.arange(t)], dtype=np.int64)  # (b, T)
            sparse = sparse_teacher(model(torch.from_numpy(x).to(device)), k, 1.0)
            logp[first : first + count] = sparse.logp.cpu().numpy()
            index[first : first + count] = sparse.index.cpu().numpy()
            rest[first : first + count] = sparse.log_rest.cpu().numpy()
    for array in (logp, index, rest):
        array.flush()
    c = header["chunk_sequences"]
    header["sha256"] = {
        "logp": array_digests(logp, c),
        "index": array_digests(index, c),
        "log_rest": array_digests(rest, c),
    }
