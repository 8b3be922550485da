"""The study report: ``build_report(study_dir)`` writes ``report/index.html`` and its figures.

This package is the only place distillscale imports matplotlib (Agg canvas, no pyplot).
"""

from __future__ import annotations

from distillscale.report.build import build_report

__all__ = ["build_report"]
