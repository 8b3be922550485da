"""Studies: teachers, logit caches, students and baselines from one YAML spec.

A local or Ray executor runs them against a run store; the study ends with fits, a plan and a
report.

``run_study(spec, out)`` is the Python form of ``distillscale run STUDY.yaml --out DIR``.
"""

from __future__ import annotations

from distillscale.study.spec import StudySpec, load_spec

__all__ = ["StudySpec", "load_spec", "run_study"]


def __getattr__(name: str) -> object:
    if name == "run_study":
        from distillscale.study.runner import run_study

        return run_study
    raise AttributeError(f"module 'distillscale.study' has no attribute {name!r}")
