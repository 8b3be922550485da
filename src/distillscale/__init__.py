"""distillscale: the scaling laws of knowledge distillation.

Fit scaling laws to tables of runs, train small GPT teachers and students, run studies and plan
compute. The public API is re-exported lazily so that ``import distillscale`` stays light:
torch, ray and matplotlib load only when the feature that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

# public name -> module that defines it (imported on first use)
_LAZY: dict[str, str] = {
    "fit": "distillscale.fitting",
    "Fit": "distillscale.fitting",
    "load_fit": "distillscale.fitting",
    "predict": "distillscale.fitting",
    "read_runs": "distillscale.table",
    "RunTable": "distillscale.table",
    "import_runs": "distillscale.runs_import",
    "get_law": "distillscale.laws",
    "load_published": "distillscale.laws",
    "plan": "distillscale.planning",
    "Plan": "distillscale.planning",
    "TransformerShape": "distillscale.flops",
    "count_params": "distillscale.flops",
    "open_store": "distillscale.study.store",
    "run_study": "distillscale.study.runner",
    "StudySpec": "distillscale.study.spec",
    "build_report": "distillscale.report",
    "RunConfig": "distillscale.train",
    "train_run": "distillscale.train",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'distillscale' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
