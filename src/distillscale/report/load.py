"""Read the pieces of a study directory, tolerating missing or unreadable ones.

Each piece (``runs.csv``, ``curves.csv``, ``ledger.json``, ``fits/*.json``, ``plan.json``) may be
absent, for example while a study is still running. Loading never fails on one: the piece becomes
``None`` and :attr:`StudyData.problems` says, in one line each, what is missing or unreadable, so
that the report can say so instead of failing.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from distillscale.errors import InputError
from distillscale.runs import CURVE_COLUMNS, STUDY_RUN_COLUMNS, SUPERVISED_KINDS
from distillscale.study.store.url import redact_text

__all__ = [
    "FIT_NAMES",
    "StudyData",
    "done_mask",
    "failed_mask",
    "load_study",
    "student_runs",
    "supervised_runs",
]

log = logging.getLogger(__name__)

#: Fit artifacts a study writes under ``fits/``, in report order.
FIT_NAMES: tuple[str, ...] = ("supervised", "distillation")

#: Text columns of ``runs.csv``; every other column of it (``runs.STUDY_RUN_COLUMNS``) is numeric.
RUN_TEXT = ("run", "kind", "status", "teacher_run")
RUN_NUMERIC = tuple(c for c in STUDY_RUN_COLUMNS if c not in RUN_TEXT)
CURVE_NUMERIC = tuple(c for c in CURVE_COLUMNS if c != "run")

#: ``status`` values of finished and of failed runs (case-insensitive).
DONE_STATUSES = frozenset({"done", "completed", "complete", "ok", "success", "succeeded"})
FAILED_STATUSES = frozenset({"failed", "error", "crashed"})


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyData:
    """Everything the report reads from one study directory.

    Parameters
    ----------
    study_dir : Path
        The study directory.
    runs : DataFrame or None
        ``runs.csv``: one row per run; numeric columns as float (NaN where empty), text columns
        as str ("" where empty). Losses in nats per token, FLOPs in operations.
    curves : DataFrame or None
        ``curves.csv``: ``run, step, tokens, train_loss, val_loss, lr``.
    ledger : dict or None
        ``ledger.json``: FLOPs by phase (operations), with an optional ``planned`` mapping.
    fit_docs : dict
        Parsed ``fits/<name>.json`` documents (``distillscale.fit/1``) by name.
    notes : dict or None
        ``fits/notes.json``: fixed parameters, warnings, missing runs.
    plan : dict or None
        ``plan.json``: ``students`` list and ``text``.
    spec_text : str or None
        ``study.yaml``, the study spec as written by the runner, URL passwords redacted.
    problems : tuple of str
        One line per missing or unreadable piece.
    """

    study_dir: Path
    runs: pd.DataFrame | None
    curves: pd.DataFrame | None
    ledger: dict[str, Any] | None
    fit_docs: dict[str, dict[str, Any]]
    notes: dict[str, Any] | None
    plan: dict[str, Any] | None
    spec_text: str | None
    problems: tuple[str, ...]


#: Files and folders of a study directory; a directory with none of them is not a study.
STUDY_FILES = (
    "study.yaml",
    "spec.json",
    "runs.csv",
    "curves.csv",
    "ledger.json",
    "fits",
    "plan.json",
)


def load_study(study_dir: Path) -> StudyData:
    """Read a study directory; missing or unreadable pieces become ``None`` and a problem line.

    Parameters
    ----------
    study_dir : Path
        Directory written by ``distillscale run STUDY.yaml --out DIR``.

    Raises
    ------
    InputError
        When ``study_dir`` does not exist, is not a directory, or holds none of
        :data:`STUDY_FILES`.
    """
    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        found = "a file" if study_dir.exists() else "nothing"
        raise InputError(
            f"study directory {str(study_dir)!r}: found {found}; expected the directory written "
            "by 'distillscale run STUDY.yaml --out DIR' (check the path)"
        )
    if not any((study_dir / name).exists() for name in STUDY_FILES):
        raise InputError(
            f"study directory {str(study_dir)!r}: not a study (it holds none of "
            f"{', '.join(STUDY_FILES)}); give the directory written by 'distillscale run "
            "STUDY.yaml --out DIR'"
        )
    problems: list[str] = []
    runs = _read_table(study_dir / "runs.csv", RUN_NUMERIC, RUN_TEXT, problems)
    curves = _read_table(study_dir / "curves.csv", CURVE_NUMERIC, ("run",), problems)
    ledger = _read_json(study_dir / "ledger.json", problems)
    fit_docs: dict[str, dict[str, Any]] = {}
    for name in FIT_NAMES:
        doc = _read_json(study_dir / "fits" / f"{name}.json", problems)
        if doc is not None:
            fit_docs[name] = doc
    notes = _read_json(study_dir / "fits" / "notes.json", problems)
    plan = _read_json(study_dir / "plan.json", problems)
    spec_text = _read_text(study_dir / "study.yaml", problems)
    if spec_text is not None:  # distillscale 0.1.0 copied the store password here
        spec_text = redact_text(spec_text)
    return StudyData(
        study_dir=study_dir,
        runs=runs,
        curves=curves,
        ledger=ledger,
        fit_docs=fit_docs,
        notes=notes,
        plan=plan,
        spec_text=spec_text,
        problems=tuple(problems),
    )


def _read_table(
    path: Path, numeric: tuple[str, ...], text: tuple[str, ...], problems: list[str]
) -> pd.DataFrame | None:
    """Read a CSV leniently: numbers coerced (bad cells -> NaN), text kept as str."""
    if not path.is_file():
        problems.append(f"{path.name} is missing")
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        problems.append(f"{path.name} could not be read: {exc}")
        log.warning("report: %s could not be read: %s", path, exc)
        return None
    for column in frame.columns:
        if column in numeric:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in text:
        if column not in frame.columns:
            frame[column] = ""
    for column in numeric:
        if column not in frame.columns:
            frame[column] = math.nan
    return frame


def _read_json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """Read a JSON object; a missing, unparsable or non-object file becomes a problem line."""
    rel = path.name if path.parent.name != "fits" else f"fits/{path.name}"
    if not path.is_file():
        problems.append(f"{rel} is missing")
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{rel} could not be read: {exc}")
        log.warning("report: %s could not be read: %s", path, exc)
        return None
    if not isinstance(doc, dict):
        problems.append(f"{rel} is not a JSON object (found {type(doc).__name__})")
        return None
    return doc


def _read_text(path: Path, problems: list[str]) -> str | None:
    if not path.is_file():
        problems.append(f"{path.name} is missing")
        return None
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        problems.append(f"{path.name} could not be read: {exc}")
        return None


def done_mask(runs: pd.DataFrame) -> pd.Series:
    """Finished runs: a done status, or no status and a finite loss."""
    status = runs["status"].str.strip().str.lower()
    finite = runs["loss"].notna() & (runs["loss"] > 0)
    return status.isin(DONE_STATUSES) | ((status == "") & finite)


def failed_mask(runs: pd.DataFrame) -> pd.Series:
    """Runs whose status says they failed."""
    return runs["status"].str.strip().str.lower().isin(FAILED_STATUSES)


def _usable(runs: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    ok = done_mask(runs)
    for column in columns:
        ok &= runs[column].notna() & (runs[column] > 0)
    return ok


def supervised_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished teacher and baseline runs with positive params, tokens and loss.

    A run with no ``kind`` and no ``teacher_loss`` (a plain run table brought by a user) counts
    as supervised.
    """
    kind = runs["kind"].str.strip().str.lower()
    plain = (kind == "") & runs["teacher_loss"].isna()
    return runs[(kind.isin(SUPERVISED_KINDS) | plain) & _usable(runs, ("params", "tokens", "loss"))]


def student_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished distilled students with positive params, tokens, loss and teacher loss."""
    kind = runs["kind"].str.strip().str.lower()
    cols = ("params", "tokens", "loss", "teacher_loss")
    return runs[(kind == "student") & _usable(runs, cols)]
