"""Corpora, tokenizers, the held-out split and the deterministic training-sequence stream.

* A corpus is a list of documents: the interpreter's standard-library ``.py`` files
  (``"stdlib"``), the files of a folder (recursively), or fixed 16 KiB chunks of one text file.
  Documents are read in path order until ``max_corpus_bytes``.
* The validation split is by document: a document is held out when the SHA-256 of its relative
  path (and chunk number), read as a fraction in [0, 1), is below ``val_fraction``. Pre-tokenised
  token files have no documents; their last ``val_fraction`` of tokens is held out.
* Text becomes bytes (vocabulary 256) or BPE tokens (HF ``tokenizers``, trained on the training
  documents and cached on disk by content hash). Documents are concatenated.
* Sequence ``j`` of the training stream starts at a position that is a pure function of
  ``(seed, j)`` (SplitMix64), so batch ``i`` is a function of ``(seed, i)``: resume, data-parallel
  sharding and the teacher-logit cache all see exactly the same tokens.
* Documents are listed and hashed by :mod:`distillscale.train.corpus_id`; a config whose
  ``data.fingerprint`` is set (study runs) is refused when the corpus no longer has those bytes.

Losses computed on these tokens are in nats per token.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from distillscale.atomic import atomic_path
from distillscale.errors import InputError
from distillscale.runs.config import DataConfig
from distillscale.train.corpus_id import (
    document_digest_update,
    is_token_file,
    iter_documents,
    token_file_digest,
    token_shards,
)

__all__ = [
    "Corpus",
    "load_corpus",
    "sequence_starts",
    "train_batch",
    "unigram_entropy",
    "val_batches",
]

log = logging.getLogger(__name__)

#: Default BPE vocabulary (tokens) when ``DataConfig.vocab_size`` is unset.
DEFAULT_BPE_VOCAB = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class Corpus:
    """Tokenised training and validation streams.

    Parameters
    ----------
    train : ndarray
        Training tokens (unsigned ints), documents concatenated; may be a memory map.
    val : ndarray
        Held-out tokens.
    vocab_size : int
        Vocabulary size (tokens); every token is below it.
    data_hash : str
        SHA-256 (hex) of the selected documents, the split and the tokenizer: two corpora with
        equal hashes give identical token streams.
    n_documents : int
        Documents read (0 for token files).
    n_bytes : int
        Bytes of text read (token files: bytes of the file).
    tokenizer_hash : str or None
        SHA-256 (hex) of the tokenizer itself (for BPE: its vocabulary and merges): a teacher
        and a student with different hashes see different tokens under the same ids. None for
        pre-tokenised files, whose tokenizer is unknown.
    """

    train: NDArray[np.unsignedinteger]
    val: NDArray[np.unsignedinteger]
    vocab_size: int
    data_hash: str
    n_documents: int
    n_bytes: int
    tokenizer_hash: str | None = None


def _fraction(key: str) -> float:
    """A deterministic number in [0, 1) from a string (first 8 bytes of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0**64


def _list_documents(data: DataConfig) -> list[tuple[str, bytes]]:
    """(relative name, bytes) of every document, in path order, up to ``max_corpus_bytes``."""
    docs = list(iter_documents(data))
    if not docs:
        raise InputError(
            f"data.corpus: {data.corpus!r} holds no readable text; give a non-empty one"
        )
    return docs


def _token_dtype(vocab_size: int) -> type[np.unsignedinteger]:
    return np.uint16 if vocab_size <= 2**16 else np.uint32


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "distillscale"


def _bpe_tokenizer(train_docs: list[bytes], vocab_size: int, key: str) -> Any:
    """A byte-level BPE tokenizer trained on ``train_docs``, cached by content hash ``key``."""
    from distillscale.errors import require

    tokenizers = require("tokenizers", "train", "the bpe tokenizer")
    path = _cache_dir() / f"bpe-{key[:24]}-{vocab_size}.json"
    if path.exists():
        return tokenizers.Tokenizer.from_file(str(path))
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((d.decode("utf-8", "replace") for d in train_docs), trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tok.save(str(tmp))
    log.info("trained BPE tokenizer (%d tokens) cached at %s", tok.get_vocab_size(), path)
    return tok


def _tokenize(docs: list[bytes], tokenizer: Any, vocab: int) -> NDArray[np.unsignedinteger]:
    dtype = _token_dtype(vocab)
    if tokenizer is None:
        return np.frombuffer(b"".join(docs), dtype=np.uint8).astype(dtype)
    encoded = tokenizer.encode_batch([d.decode("utf-8", "replace") for d in docs])
    return np.concatenate([np.asarray(e.ids, dtype=dtype) for e in encoded] or [np.zeros(0, dtype)])


class _HFEncoder:
    """A transformers tokenizer behind the ``encode_batch`` interface of ``tokenizers``."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode_batch(self, texts: list[str]) -> list[Any]:
        from types import SimpleNamespace

        from distillscale.train import hf

        return [SimpleNamespace(ids=ids) for ids in hf.encode(self.tokenizer, texts)]


def _hf_vocab(data: DataConfig, size: int) -> int:
    """Vocabulary of an HF-tokenised data: ``data.vocab_size`` (>= the tokenizer's) or its size."""
    if data.vocab_size is not None and data.vocab_size < size:
        raise InputError(
            f"data.vocab_size: {data.vocab_size} tokens, but tokenizer {data.tokenizer!r} emits "
            f"{size}; the model's vocabulary must hold every token id"
        )
    return data.vocab_size or size


def _read_token_file(path: Path, dtype: str) -> NDArray[np.unsignedinteger]:
    """One token file, memory-mapped: a ``.npy`` array, or raw ``dtype`` integers (``.bin``)."""
    try:
        if path.suffix == ".npy":
            tokens = np.load(path, mmap_mode="r")
        else:
            tokens = np.memmap(path, dtype=np.dtype(dtype), mode="r")
    except (OSError, ValueError) as exc:
        raise InputError(
            f"data.corpus: cannot read token file {path}: {exc}; give a .npy array or a raw "
            f"{dtype} .bin file (data.token_dtype)"
        ) from exc
    if tokens.ndim != 1 or tokens.dtype.kind != "u" or tokens.size < 2:
        raise InputError(
            f"data.corpus: {path} holds {tokens.dtype} of shape {tokens.shape}; a token file "
            "is a 1-D array of unsigned integers"
        )
    return tokens


def _load_token_file(data: DataConfig) -> Corpus:
    path = Path(data.corpus)
    shards = token_shards(path)
    if shards:  # concatenated in name order (in memory)
        parts = [_read_token_file(p, data.token_dtype) for p in shards]
        dtypes = {str(t.dtype) for t in parts}
        if len(dtypes) > 1:
            raise InputError(
                f"data.corpus: the shards of {path} hold different dtypes {sorted(dtypes)}; "
                "write every shard with one dtype"
            )
        tokens = np.concatenate(parts)
    else:
        tokens = _read_token_file(path, data.token_dtype)
    vocab = data.vocab_size or int(tokens.max()) + 1
    n_val = max(1, int(tokens.size * data.val_fraction))
    digest = token_file_digest(path)
    _check_fingerprint(data, digest.hexdigest())
    digest.update(f"|val={data.val_fraction}|vocab={vocab}".encode())
    return Corpus(
        train=tokens[:-n_val],
        val=tokens[-n_val:],
        vocab_size=vocab,
        data_hash=digest.hexdigest(),
        n_documents=0,
        n_bytes=sum(p.stat().st_size for p in (shards or [path])),
    )


def _check_fingerprint(data: DataConfig, actual: str) -> None:
    """Refuse a corpus whose bytes are not those the run was planned on (``data.fingerprint``)."""
    if data.fingerprint is not None and data.fingerprint != actual:
        raise InputError(
            f"data.corpus: {data.corpus!r} changed since this run was planned (content "
            f"fingerprint {data.fingerprint[:12]}..., now {actual[:12]}...); rerun the study "
            "(or the command) so that runs on the edited corpus get new ids"
        )


def load_corpus(data: DataConfig) -> Corpus:
    """Read, split and tokenise the corpus described by ``data``.

    Parameters
    ----------
    data : DataConfig
        Corpus, tokenizer and split.

    Returns
    -------
    Corpus
        Training and validation token streams with their vocabulary and content hash.

    Raises
    ------
    InputError
        The corpus is missing, unreadable, empty, has no document on one side of the split, or
        its bytes differ from ``data.fingerprint`` (when set).
    """
    if is_token_file(data.corpus):
        return _load_token_file(data)
    docs = _list_documents(data)
    digest = hashlib.sha256()
    train_docs: list[bytes] = []
    val_docs: list[bytes] = []
    for name, text in docs:
        (val_docs if _fraction(name) < data.val_fraction else train_docs).append(text)
        document_digest_update(digest, name, text)
    _check_fingerprint(data, digest.hexdigest())
    if not train_docs or not val_docs:
        raise InputError(
            f"data.corpus: {data.corpus!r} has {len(docs)} documents, {len(val_docs)} held out "
            f"at val_fraction={data.val_fraction}; both sides need at least one: add documents "
            "or change val_fraction"
        )
    tokenizer = None
    vocab = 256
    tokenizer_hash = hashlib.sha256(b"byte:256").hexdigest()
    tok_name = data.tokenizer
    if data.tokenizer == "bpe":
        vocab = data.vocab_size or DEFAULT_BPE_VOCAB
        tokenizer = _bpe_tokenizer(train_docs, vocab, digest.hexdigest())
        tokenizer_hash = hashlib.sha256(tokenizer.to_str().encode()).hexdigest()
    elif data.tokenizer.startswith("hf:"):
        from distillscale.train import hf
        from distillscale.train.hf_config import tokenizer_files_digest

        if data.tokenizer_sha256 is not None:
            actual = tokenizer_files_digest(data.tokenizer)
            if actual != data.tokenizer_sha256:
                raise InputError(
                    f"data.tokenizer: {data.tokenizer!r} changed since this run was planned "
                    f"(tokenizer files {data.tokenizer_sha256[:12]}..., now {actual[:12]}...); "
                    "rerun the study (or the command) so that its runs get new ids"
                )
        tokenizer = _HFEncoder(hf.load_hf_tokenizer(data.tokenizer))
        tokenizer_hash = hf.tokenizer_digest(tokenizer.tokenizer)
        vocab = _hf_vocab(data, hf.tokenizer_size(tokenizer.tokenizer))
        tok_name = f"hf:{tokenizer_hash}"  # the tokenizer's content, not where it lies
    digest.update(f"|val={data.val_fraction}|tok={tok_name}|vocab={vocab}".encode())
    return Corpus(
        train=_tokenize(train_docs, tokenizer, vocab),
        val=_tokenize(val_docs, tokenizer, vocab),
        vocab_size=vocab,
        data_hash=digest.hexdigest(),
        n_documents=len(docs),
        n_bytes=sum(len(t) for _, t in docs),
        tokenizer_hash=tokenizer_hash,
    )


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64 finaliser (Steele et al. 2014), elementwise on uint64 (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def sequence_starts(
    seed: int, first: int, count: int, n_tokens: int, seq_len: int
) -> NDArray[np.int64]:
    """Start positions of training sequences ``first .. first + count - 1``.

    Parameters
    ----------
    seed : int
        Stream seed (``DataConfig.seed``).
    first, count : int
        Index of the first sequence in the stream, and how many.
    n_tokens : int
        Length of the training token stream (tokens).
    seq_len : int
        Tokens per input sequence; each sequence reads ``seq_len + 1`` tokens (targets shifted).

    Returns
    -------
    ndarray of int64, shape (count,)
        Start positions in ``[0, n_tokens - seq_len - 1]``, a pure function of ``(seed, j)``.
    """
    span = n_tokens - seq_len
    if span < 1:
        raise InputError(
            f"data.corpus: {n_tokens} training tokens cannot fill one sequence of seq_len="
            f"{seq_len} + 1 tokens; use a larger corpus (max_corpus_bytes) or a shorter seq_len"
        )
    key = _splitmix64(np.full(1, seed % 2**64, dtype=np.uint64))
    j = np.arange(first, first + count, dtype=np.uint64)
    return (_splitmix64(j ^ key) % np.uint64(span)).astype(np.int64)


def _windows(tokens: NDArray, starts: NDArray[np.int64], seq_len: int) -> NDArray[np.int64]:
    index = starts[:, None] + np.arange(seq_len + 1)  # (B, T + 1)
    return np.asarray(tokens[index], dtype=np.int64)


def train_batch(
    corpus: Corpus,
    seed: int,
    step: int,
    batch_size: int,
    seq_len: int,
    *,
    rank: int = 0,
    world: int = 1,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Inputs and targets of training batch ``step`` (this rank's share of it).

    Global batch ``step`` holds stream sequences ``[step * batch_size, (step + 1) *
    batch_size)``; rank ``r`` of ``world`` takes the ``r``-th contiguous slice.

    Returns
    -------
    tuple of ndarray, each (batch_size // world, seq_len), int64
        Token ids and next-token targets.
    """
    local = batch_size // world
    starts = sequence_starts(
        seed, step * batch_size + rank * local, local, corpus.train.size, seq_len
    )
    w = _windows(corpus.train, starts, seq_len)  # (b, T + 1)
    return w[:, :-1], w[:, 1:]


def val_batches(
    corpus: Corpus, seq_len: int, eval_tokens: int, batch_size: int
) -> list[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Consecutive, non-overlapping held-out windows covering up to ``eval_tokens`` targets.

    Returns
    -------
    list of (inputs, targets)
        Arrays of shape (b, seq_len), int64; at least one window.
    """
    n_windows = max(1, min(eval_tokens // seq_len, (corpus.val.size - 1) // seq_len))
    if corpus.val.size < seq_len + 1:
        raise InputError(
            f"data.val_fraction: {corpus.val.size} held-out tokens cannot fill one sequence of "
            f"seq_len={seq_len}; raise val_fraction or max_corpus_bytes, or shorten seq_len"
        )
    starts = np.arange(n_windows, dtype=np.int64) * seq_len
    out = []
    for i in range(0, n_windows, batch_size):
        w = _windows(corpus.val, starts[i : i + batch_size], seq_len)
        out.append((w[:, :-1], w[:, 1:]))
    return out


def unigram_entropy(tokens: NDArray, vocab_size: int) -> float:
    """Entropy of the token frequencies, nats per token: the loss of the best context-free model.

    Parameters
    ----------
    tokens : ndarray
        Token ids.
    vocab_size : int
        Vocabulary size (tokens).

    Returns
    -------
    float
        ``-sum_v f_v ln f_v`` with ``f`` the empirical frequencies, nats per token.
    """
    counts = np.bincount(np.asarray(tokens, dtype=np.int64), minlength=vocab_size)
    f = counts[counts > 0] / counts.sum()
    return float(-(f * np.log(f)).sum())
