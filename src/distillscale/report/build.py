"""Build ``DIR/report/index.html`` and its figures from a study directory.

The page is self-contained (figures inlined as base64 PNG, no JavaScript, no network); each
figure is also written beside it as PNG and SVG. Pieces of the study that are missing or
unreadable are named in the summary and their sections say so; nothing missing stops the build.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from distillscale.atomic import atomic_write
from distillscale.errors import InputError
from distillscale.report import sections
from distillscale.report.html import Section, page
from distillscale.report.load import load_study
from distillscale.report.plots import Rendered

__all__ = ["FIGURE_NAMES", "build_report"]

log = logging.getLogger(__name__)

#: Every figure the report can draw; files of ones not drawn this time are removed as stale.
FIGURE_NAMES: tuple[str, ...] = (
    "supervised",
    "distillation",
    "residuals",
    "holdout",
    "ledger",
    "curves",
)

#: Permissions of the written files (readable by all, whatever the umask: the report is served).
_FILE_MODE = 0o644


def build_report(study_dir: str | os.PathLike[str]) -> Path:
    """Write the study report and return the path of its ``index.html``.

    Parameters
    ----------
    study_dir : str or path
        Directory written by ``distillscale run STUDY.yaml --out DIR``. Reads ``runs.csv``,
        ``curves.csv``, ``ledger.json``, ``fits/*.json``, ``plan.json`` and ``study.yaml``; any
        may be missing.

    Returns
    -------
    Path
        ``study_dir/report/index.html``. Figures are written beside it as ``<name>.png`` and
        ``<name>.svg``. All files are written atomically (temporary file, then rename).

    Raises
    ------
    InputError
        When ``study_dir`` is not a directory, or ``study_dir/report`` cannot be written.
    """
    data = load_study(Path(study_dir))
    figures: dict[str, Rendered] = {}
    body: list[Section] = sections.build_sections(data, figures)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = page(
        title=f"distillscale study report: {data.study_dir.resolve().name}",
        subtitle=f"study directory {data.study_dir.resolve()}; built {stamp}",
        sections=body,
    )
    out_dir = data.study_dir / "report"
    try:
        index = _write_all(out_dir, figures, text)
    except OSError as exc:
        raise InputError(
            f"study directory {str(data.study_dir)!r}: cannot write the report under "
            f"{str(out_dir)!r} ({exc.strerror or exc}); make it writable, or copy the study "
            "directory somewhere writable and run 'distillscale report' on the copy"
        ) from None
    log.info("report: wrote %s with %d figures", index, len(figures))
    return index


def _write_all(out_dir: Path, figures: dict[str, Rendered], text: str) -> Path:
    """Write figures (removing stale ones) and then ``index.html``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rendered in figures.items():
        _write_atomic(out_dir / f"{name}.png", rendered.png)
        _write_atomic(out_dir / f"{name}.svg", rendered.svg.encode("utf-8"))
    for name in set(FIGURE_NAMES) - set(figures):
        for suffix in (".png", ".svg"):
            (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
    index = out_dir / "index.html"
    _write_atomic(index, text.encode("utf-8"))
    return index


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (:func:`distillscale.atomic.atomic_write`).

    The file is then made readable by all (0644, whatever the umask), so the report can be
    served as it is.
    """
    atomic_write(path, payload)
    os.chmod(path, _FILE_MODE)
