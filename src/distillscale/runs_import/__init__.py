"""Import runs logged elsewhere into a canonical run table (``distillscale runs import``).

Sources: CSV/TSV/JSON Lines tables (a W&B runs-table CSV included), W&B JSON exports of run
configs, summaries and histories, MLflow file stores (``mlruns/``) and TensorBoard event files;
none of mlflow, wandb, tensorflow or tensorboard is needed to read them. Column names are matched
by alias (:data:`~distillscale.runs_import.rows.ALIASES`: ``n_params``/``model_size`` ->
``params``, ``tokens_seen`` -> ``tokens``, ``val_loss``/``eval_loss`` -> ``loss``, ...) or by
``--map``; values are checked per row; losses are converted to nats per token. Optional
selection: the last logged step per run (``last_per``) and the best row per group
(``best_per`` by the smallest ``by``). The result is written as a CSV/TSV/JSON Lines run table
that ``distillscale fit`` reads directly. Layer 3: standard library and pyyaml (MLflow
meta.yaml); pandas only in :meth:`ImportedRuns.to_frame`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillscale import example_data
from distillscale.errors import InputError
from distillscale.runs_import.mlflow import is_mlflow_store, read_mlflow
from distillscale.runs_import.rows import ALIASES, CANONICAL, SourceRow, canonical_rows
from distillscale.runs_import.select import best_per, last_per
from distillscale.runs_import.tabular import read_delimited, read_jsonl
from distillscale.runs_import.tensorboard import event_files, read_tensorboard
from distillscale.runs_import.wandb import is_wandb_record, read_wandb
from distillscale.runs_import.write import column_order, write_rows

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALIASES",
    "CANONICAL",
    "FORMATS",
    "ImportedRuns",
    "detect_format",
    "import_runs",
]

#: Source formats, for ``--format`` (default: detected by :func:`detect_format`).
FORMATS = ("csv", "tsv", "jsonl", "wandb", "mlflow", "tensorboard")
DEFAULT_REQUIRED = ("params", "tokens", "loss")


@dataclass(frozen=True, slots=True)
class ImportedRuns:
    """Imported rows in canonical form.

    Parameters
    ----------
    rows : tuple of dict
        One dict per row: canonical columns (numbers as float; losses in nats per token) and
        the source's other keys as read.
    wheres : tuple of str
        Where each row came from (file and line, run folder and step).
    columns : tuple of str
        Column order of the written table (canonical first).
    sources : tuple of str
        The sources read, with their formats (``"mlruns (mlflow)"``).
    read : int
        Rows read before selection.
    skipped_steps : int
        History steps left out because a required metric was not logged at that step.
    dropped : int
        Rows dropped as invalid (``drop_invalid=True`` only).
    """

    rows: tuple[dict[str, Any], ...]
    wheres: tuple[str, ...]
    columns: tuple[str, ...]
    sources: tuple[str, ...]
    read: int
    skipped_steps: int
    dropped: int

    def __len__(self) -> int:
        return len(self.rows)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the run table (``.csv``, ``.tsv``, ``.jsonl``), replacing ``path`` atomically."""
        return write_rows(self.rows, path)

    def to_frame(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame, columns in :attr:`columns` order."""
        import pandas as pd

        return pd.DataFrame.from_records(list(self.rows), columns=list(self.columns))


def detect_format(path: Path) -> str:
    """The format of a source: folders by content, files by extension (and JSON content).

    Raises
    ------
    InputError
        For a path that does not exist or whose format cannot be told.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        if is_mlflow_store(path):
            return "mlflow"
        if event_files(path):
            return "tensorboard"
        raise InputError(
            f"{path}: a folder that is neither an MLflow store (meta.yaml files) nor a "
            "TensorBoard log folder (events.out.tfevents.* files)"
        )
    if "tfevents" in path.name:
        return "tensorboard"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        return "tsv" if suffix != ".csv" else "csv"
    if suffix == ".json":
        return "wandb"
    if suffix in (".jsonl", ".ndjson"):
        first = next(read_jsonl(path), None)
        return "wandb" if first is not None and is_wandb_record(first[0]) else "jsonl"
    raise InputError(
        f"{path}: cannot tell the format from {suffix or '(no extension)'!r}",
        hints=(("fmt", f"give fmt= ({', '.join(FORMATS)})"),),
    )


def _read(path: Path, fmt: str) -> Iterator[SourceRow]:
    if fmt in ("csv", "tsv"):
        yield from read_delimited(path, "," if fmt == "csv" else "\t")
    elif fmt == "jsonl":
        from distillscale.runs_import.tabular import flatten

        for record, where in read_jsonl(path):
            yield SourceRow(values=flatten(record), where=where)
    elif fmt == "wandb":
        yield from read_wandb(path)
    elif fmt == "mlflow":
        yield from read_mlflow(path)
    elif fmt == "tensorboard":
        yield from read_tensorboard(path)
    else:
        raise _unknown_format(fmt)


def _unknown_format(fmt: str) -> InputError:
    return InputError(
        f": unknown; choose one of {', '.join(FORMATS)}", subject=("fmt", f"fmt={fmt!r}", repr(fmt))
    )


def _columns(text: str | Sequence[str] | None, option: str) -> tuple[str, ...]:
    """Column names from ``"params,tokens"`` or a sequence; ``option`` names the argument."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    out = tuple(i.strip() for i in items if i.strip())
    if not out:
        raise InputError(
            ": give one or more column names, e.g. params,tokens",
            subject=(option, f"{option}={text!r}", ""),
        )
    return out


def import_runs(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    fmt: str | None = None,
    columns: Mapping[str, str] | None = None,
    required: Sequence[str] | str | None = DEFAULT_REQUIRED,
    loss_unit: str = "nats",
    bytes_per_token: float | None = None,
    last: Sequence[str] | str | None = None,
    best: Sequence[str] | str | None = None,
    by: str = "loss",
    drop_invalid: bool = False,
) -> ImportedRuns:
    """Read runs from files or folders into canonical rows (see the module docstring).

    Parameters
    ----------
    sources : path or sequence of paths
        CSV/TSV/JSONL files, W&B JSON exports, ``mlruns`` folders, TensorBoard log folders.
    fmt : str, optional
        One of :data:`FORMATS` for every source (default: detected per source).
    columns : mapping, optional
        Canonical name -> source key (``{"params": "n_embd_params"}``); wins over aliases.
    required : sequence of str or comma-separated str, optional
        Canonical columns every row must have (default ``params, tokens, loss``; None or ``()``
        for none). History steps without one are skipped and counted, other rows are errors.
    loss_unit : {"nats", "bits", "bpb"}
        Unit of the sources' ``loss`` and ``teacher_loss``; rows come out in nats per token.
    bytes_per_token : float, optional
        For ``loss_unit="bpb"``.
    last : sequence of str or str, optional
        Keep the row with the largest ``step`` per group of these columns (``"run"``: the
        last logged step of each run). Applied before ``best``.
    best : sequence of str or str, optional
        Keep the row with the smallest ``by`` per group of these columns (``"params,tokens"``:
        the best learning rate of each size and budget).
    by : str
        Column compared by ``best`` (smaller is better), default ``loss``.
    drop_invalid : bool
        Drop rows with invalid or missing values (counted) instead of raising.

    Returns
    -------
    ImportedRuns

    Raises
    ------
    InputError
        Naming the file (and line, run or step) and key of the first problem.
    """
    paths = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    if not paths:
        raise InputError("runs import: give at least one source file or folder")
    if fmt is not None and fmt not in FORMATS:
        raise _unknown_format(fmt)
    need = _columns(required, "required") if required else ()
    last_keys, best_keys = _columns(last, "last"), _columns(best, "best")
    if best_keys and by not in need:
        need = (*need, by) if by in CANONICAL else need
    if last_keys and "step" not in need:
        need = (*need, "step")
    bad = [c for c in need if c not in CANONICAL]
    if bad:
        raise InputError(
            f": not a canonical column; allowed: {', '.join(CANONICAL)}",
            subject=("required", f"required={bad[0]!r}", repr(bad[0])),
        )
    described: list[str] = []

    def rows() -> Iterator[SourceRow]:
        for source in paths:
            path = Path(example_data.resolve(str(source)))  # example:NAME, a packaged table
            kind = fmt or detect_format(path)
            if not path.exists():
                raise InputError(f"{path}: no such file or folder")
            described.append(f"{path} ({kind})")
            yield from _read(path, kind)

    canon = canonical_rows(
        rows(),
        columns=columns,
        required=need,
        loss_unit=loss_unit,
        bytes_per_token=bytes_per_token,
        drop_invalid=drop_invalid,
    )
    read = len(canon.rows)
    if read == 0:
        why = (
            f"; {canon.skipped_steps} logged steps lack one of {', '.join(need)}"
            if canon.skipped_steps
            else ""
        )
        first = f" (first dropped: {canon.first_dropped})" if canon.first_dropped else ""
        raise InputError(f"{', '.join(map(str, paths))}: no complete runs to import{why}{first}")
    kept, wheres = canon.rows, canon.wheres
    if last_keys:
        kept, wheres = last_per(kept, wheres, last_keys)
    if best_keys:
        kept, wheres = best_per(kept, wheres, best_keys, by)
    return ImportedRuns(
        rows=tuple(kept),
        wheres=tuple(wheres),
        columns=tuple(column_order(kept)),
        sources=tuple(described),
        read=read,
        skipped_steps=canon.skipped_steps,
        dropped=canon.dropped,
    )
