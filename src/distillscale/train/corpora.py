"""Hugging Face ``datasets`` corpora: a text column of a dataset as the corpus's documents.

``data.corpus = "dataset:SOURCE"`` with ``data.text_column`` (default ``"text"``). ``SOURCE`` is

* a local data file or a folder of them, by suffix: ``.json``/``.jsonl`` (JSON Lines),
  ``.parquet``, ``.csv``, ``.txt`` (one line per row, column ``text``), read with
  ``datasets.load_dataset`` (all its rows, the ``train`` split);
* a folder written by ``Dataset.save_to_disk`` (or ``DatasetDict.save_to_disk``: its ``train``
  split), read with ``datasets.load_from_disk``;
* otherwise a hub id, read with ``datasets.load_dataset(ID, split="train")`` (online only; with
  ``HF_DATASETS_OFFLINE=1``/``HF_HUB_OFFLINE=1`` only what the local cache holds).

Every row is one document named ``row<index>``, its text UTF-8 encoded, in row order, until
``max_corpus_bytes``: the same listing, hashing (:mod:`distillscale.train.corpus_id`), split by
document and tokenisation as a folder of text files. ``datasets`` is imported lazily through
:func:`distillscale.errors.require` (the ``hf`` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillscale.errors import InputError, require

__all__ = ["DATASET_PREFIX", "is_dataset", "iter_dataset_documents"]

#: Prefix of a ``datasets`` corpus in ``data.corpus``.
DATASET_PREFIX = "dataset:"
#: Local file suffix -> ``datasets`` builder.
_BUILDERS = {
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".txt": "text",
}


def is_dataset(corpus: str) -> bool:
    """True for a ``dataset:SOURCE`` corpus."""
    return corpus.startswith(DATASET_PREFIX)


def _local_files(path: Path) -> tuple[str, list[str]] | None:
    """(builder, files) of a local data file or folder of data files; None if not one."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    files = [p for p in files if p.suffix in _BUILDERS]
    if not files:
        return None
    builders = {_BUILDERS[p.suffix] for p in files}
    if len(builders) > 1:
        raise InputError(
            f"data.corpus: {path} mixes data files of kinds {sorted(builders)}; keep one kind "
            "per dataset folder"
        )
    return builders.pop(), [str(p) for p in files]


def _load(source: str) -> Any:
    datasets = require("datasets", "hf", "a datasets corpus")
    datasets.disable_progress_bars()
    path = Path(source).expanduser()
    try:
        if path.is_dir() and (
            (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file()
        ):
            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.DatasetDict):
                if "train" not in loaded:
                    raise InputError(
                        f"data.corpus: {source!r} holds splits {sorted(loaded)}, no 'train'"
                    )
                loaded = loaded["train"]
            return loaded
        if path.exists():
            found = _local_files(path)
            if found is None:
                raise InputError(
                    f"data.corpus: {source!r} holds no data files ({', '.join(_BUILDERS)}) and "
                    "is not a save_to_disk folder"
                )
            builder, files = found
            return datasets.load_dataset(builder, data_files=files, split="train")
        return datasets.load_dataset(source, split="train")
    except InputError:
        raise
    except Exception as exc:  # datasets' own errors: bad files, no such id, offline
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise InputError(
            f"data.corpus: cannot load dataset {source!r} ({type(exc).__name__}: {first[:200]}); "
            "give a local .jsonl/.json/.parquet/.csv/.txt file or folder, a save_to_disk "
            "folder, or a hub id when online"
        ) from None


def iter_dataset_documents(
    corpus: str, column: str, cap: int | None
) -> Iterator[tuple[str, bytes]]:
    """(``row<i>``, UTF-8 text) of every row of the dataset, in order, up to ``cap`` bytes.

    Raises
    ------
    InputError
        The dataset cannot be loaded, has no column ``column``, or a row's value is not text.
    """
    source = corpus[len(DATASET_PREFIX) :]
    dataset = _load(source)
    names = list(dataset.column_names)
    if column not in names:
        raise InputError(
            f"data.text_column: {column!r} is not a column of dataset {source!r}; its columns "
            f"are {names}"
        )
    total = 0
    for i, value in enumerate(dataset[column] if len(dataset) < 10_000 else _rows(dataset, column)):
        if cap is not None and total >= cap:
            break
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(
                f"data.text_column: row {i} of dataset {source!r} holds {type(value).__name__} "
                f"in column {column!r}, not text"
            )
        text = value.encode("utf-8")
        if cap is not None:
            text = text[: cap - total]
        total += len(text)
        if text:
            yield f"row{i}", text


def _rows(dataset: Any, column: str) -> Iterator[Any]:
    """The column's values, 1,000 rows at a time (large datasets are not read whole)."""
    for start in range(0, len(dataset), 1000):
        yield from dataset[start : start + 1000][column]
