"""Training engine: the GPT family, data, trainer, distillation losses and teacher-logit cache.

The only package that imports torch. The configuration and result records
(:class:`RunConfig`, :class:`RunResult`, ...) live in the torch-free :mod:`distillscale.runs`
and are re-exported here; :func:`train_run` and :func:`build_logit_cache` import torch on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from distillscale.runs.config import (
    DataConfig,
    KDConfig,
    RunConfig,
    TeacherRef,
    family_config,
)
from distillscale.runs.result import CacheInfo, ProgressEvent, RunResult

__all__ = [
    "CacheInfo",
    "DataConfig",
    "KDConfig",
    "ProgressEvent",
    "RunConfig",
    "RunResult",
    "TeacherRef",
    "build_logit_cache",
    "check_run",
    "family_config",
    "load_teacher",
    "train_run",
]

# names whose modules import torch: loaded on first use
_LAZY = {
    "train_run": "distillscale.train.trainer",
    "load_teacher": "distillscale.train.checkpoint",
    "check_run": "distillscale.train.trainer",
    "build_logit_cache": "distillscale.train.logit_cache",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'distillscale.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
