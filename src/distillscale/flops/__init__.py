"""The one FLOPs and parameter accountant (numpy and the standard library only, no torch).

Trainer, run table, study runner and planner all count N, D and C with these functions; the
conventions are stated in :mod:`distillscale.flops.count` and ``docs/flops.md``.
"""

from __future__ import annotations

from distillscale.flops.count import (
    ParamCount,
    busbridge_forward_flops,
    busbridge_sigmas,
    count_params,
    forward_flops_per_token,
    kaplan_forward_flops,
    matmul_params,
)
from distillscale.flops.phases import (
    SCENARIOS,
    FlopsLedger,
    Scenario,
    logit_cache_flops,
    scenario_flops,
    teacher_inference_flops,
    training_flops,
)
from distillscale.flops.shape import (
    FFN_MULTIPLE,
    TransformerShape,
    busbridge_shape,
    default_ffn_dim,
    family_shape,
)

__all__ = [
    "FFN_MULTIPLE",
    "SCENARIOS",
    "FlopsLedger",
    "ParamCount",
    "Scenario",
    "TransformerShape",
    "busbridge_forward_flops",
    "busbridge_sigmas",
    "busbridge_shape",
    "count_params",
    "default_ffn_dim",
    "family_shape",
    "forward_flops_per_token",
    "kaplan_forward_flops",
    "logit_cache_flops",
    "matmul_params",
    "scenario_flops",
    "teacher_inference_flops",
    "training_flops",
]
