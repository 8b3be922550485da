"""The small study spec the study, fuzz and safety tests start from (a copy is theirs to edit)."""

from __future__ import annotations

from typing import Any

#: Two teachers, one student size at two budgets, fits and plan off: seconds with the fake trainer.
TINY: dict[str, Any] = {
    "name": "tiny",
    "data": {"seq_len": 16},
    "model": {"aspect": 16, "head_dim": 16},
    "teachers": {"depths": [1, 2], "tokens_per_param": [0.05]},
    "students": {"depths": [1], "tokens": [2048, 4096]},
    "training": {"batch_size": 4},
    "executor": {"workers": 2, "lease_seconds": 2, "max_attempts": 5},
    "fit": {"enabled": False},
    "plan": {"enabled": False},
}
