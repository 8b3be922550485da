"""Which bytes a corpus is made of, and their content fingerprint (no numpy, no torch).

The study planner hashes run configurations before anything trains; a run's identity must change
when the data it trains on changes, not when the corpus merely moves. This module lists a
corpus's documents exactly as :func:`distillscale.train.data.load_corpus` reads them and hashes
their bytes:

* text (``"stdlib"``, a folder, one text file): SHA-256 over, for every document in path order up
  to ``max_corpus_bytes``, its relative name, a NUL byte and the SHA-256 of the bytes read from it
  (a single file is read as 16 KiB documents ``name#0``, ``name#1``, ...). Every byte that
  training reads is hashed, every time: no size or modification-time shortcut.
* a pre-tokenised ``.npy``/``.bin`` file: SHA-256 of the whole file; a folder of such shards:
  SHA-256 over each shard's name and the SHA-256 of its bytes, in name order.
* a ``datasets`` corpus (``dataset:SOURCE``, :mod:`distillscale.train.corpora`): as text, one
  document ``row<i>`` per row of ``data.text_column``.

The stdlib's documents are named relative to the standard-library root, so machines with the
same Python sources get the same fingerprint wherever Python is installed. The stdlib's
fingerprint is memoised for the life of a process (it is this interpreter's own, read-only
sources); user corpora are hashed on every call. Cost: one read of the bytes training reads
(the stdlib capped at the default 8 MB: 0.12-0.17 s on a busy 2-core machine).
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from distillscale.errors import InputError
from distillscale.runs.config import DataConfig

__all__ = [
    "CHUNK_BYTES",
    "TOKEN_SUFFIXES",
    "corpus_fingerprint",
    "document_digest_update",
    "is_token_file",
    "iter_documents",
    "stdlib_root",
    "token_file_digest",
    "token_shards",
]

#: Bytes per document when a single text file is split into documents.
CHUNK_BYTES = 16_384
#: Suffixes of pre-tokenised token files.
TOKEN_SUFFIXES = (".bin", ".npy")
_SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__"}
_STDLIB_MEMO: dict[tuple[str, int | None], str] = {}


def stdlib_root() -> Path:
    """The running interpreter's standard-library source folder."""
    return Path(sysconfig.get_paths()["stdlib"])


def is_token_file(corpus: str) -> bool:
    """True for a pre-tokenised ``.npy``/``.bin`` corpus path, or a folder of such shards."""
    if corpus == "stdlib" or corpus.startswith("dataset:"):
        return False
    return Path(corpus).suffix in TOKEN_SUFFIXES or bool(token_shards(Path(corpus)))


def token_shards(path: Path) -> list[Path]:
    """The shards of a folder of token files, in name order; [] unless it is one.

    A folder is a shard folder when its files (hidden ones aside, no subfolders) are all
    ``.npy``/``.bin`` files, at least one.
    """
    if not path.is_dir():
        return []
    entries = [p for p in sorted(path.iterdir()) if not p.name.startswith(".")]
    if not entries or any(not p.is_file() or p.suffix not in TOKEN_SUFFIXES for p in entries):
        return []
    return entries


def _files(data: DataConfig) -> tuple[Path, list[Path]]:
    """The corpus root and its files in path order."""
    if data.corpus == "stdlib":
        root = stdlib_root()
        files: list[Path] = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]  # prune installed packages
            files.extend(Path(folder, n) for n in names if n.endswith(".py"))
        return root, sorted(files)
    root = Path(data.corpus)
    if root.is_dir():
        return root, sorted(p for p in root.rglob("*") if p.is_file())
    if root.is_file():
        return root, [root]
    raise InputError(
        f"data.corpus: {data.corpus!r} is not a file or folder; give 'stdlib', a text "
        "file, a folder of text files, a .bin/.npy token file or dataset:SOURCE"
    )


def iter_documents(data: DataConfig) -> Iterator[tuple[str, bytes]]:
    """(relative name, bytes) of every text document, in path order, up to ``max_corpus_bytes``.

    Raises
    ------
    InputError
        The corpus is missing or a file cannot be read.
    """
    if data.corpus.startswith("dataset:"):
        from distillscale.train.corpora import iter_dataset_documents

        yield from iter_dataset_documents(data.corpus, data.text_column, data.max_corpus_bytes)
        return
    root, files = _files(data)
    single = root.is_file()
    total = 0
    cap = data.max_corpus_bytes
    for path in files:
        if cap is not None and total >= cap:
            break
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"data.corpus: cannot read {path}: {exc.strerror or exc}; fix its permissions "
                "or remove it from the corpus folder"
            ) from exc
        if cap is not None:
            text = text[: cap - total]
        total += len(text)
        if single:
            for i, o in enumerate(range(0, len(text), CHUNK_BYTES)):
                yield f"{path.name}#{i}", text[o : o + CHUNK_BYTES]
        elif text:
            yield path.relative_to(root).as_posix(), text


def document_digest_update(digest: hashlib._Hash, name: str, text: bytes) -> None:
    """Add one document to a running corpus fingerprint (name, NUL, SHA-256 of its bytes)."""
    digest.update(name.encode() + b"\0" + hashlib.sha256(text).digest())


def token_file_digest(path: Path) -> hashlib._Hash:
    """SHA-256 of a whole token file, read in 4 MiB blocks.

    A shard folder: SHA-256 over each shard's name, a NUL byte and the SHA-256 of its bytes, in
    name order (like a text folder's documents).
    """
    shards = token_shards(path)
    if shards:
        digest = hashlib.sha256()
        for shard in shards:
            digest.update(shard.name.encode() + b"\0" + token_file_digest(shard).digest())
        return digest
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(
            f"data.corpus: cannot read token file {path}: {exc.strerror or exc}"
        ) from exc
    return digest


def corpus_fingerprint(data: DataConfig) -> str:
    """The content fingerprint (SHA-256 hex) of the bytes ``data`` makes training read.

    It depends on ``corpus`` (its bytes and its documents' relative names, not where it lies) and
    ``max_corpus_bytes``; tokenizer and split settings are separate fields of the run config.

    Raises
    ------
    InputError
        The corpus is missing, unreadable or holds no text.
    """
    if is_token_file(data.corpus):
        return token_file_digest(Path(data.corpus)).hexdigest()
    key = (str(stdlib_root()), data.max_corpus_bytes)
    if data.corpus == "stdlib" and key in _STDLIB_MEMO:
        return _STDLIB_MEMO[key]
    digest = hashlib.sha256()
    n = 0
    for name, text in iter_documents(data):
        document_digest_update(digest, name, text)
        n += 1
    if n == 0:
        raise InputError(
            f"data.corpus: {data.corpus!r} holds no readable text; give a non-empty one"
        )
    value = digest.hexdigest()
    if data.corpus == "stdlib":
        _STDLIB_MEMO[key] = value
    return value
