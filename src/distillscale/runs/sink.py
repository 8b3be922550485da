"""Where a trainer writes a run's progress: the one method it needs of a run store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from distillscale.runs.curve import CurveRow

__all__ = ["RunSink"]


@runtime_checkable
class RunSink(Protocol):
    """What the trainer writes to while a run trains (``distillscale.study.store.Store`` is one).

    The trainer appends the logged steps after each checkpoint (rank 0 only), so a store holds
    the curve up to the last checkpoint; registering, claiming and completing the run are the
    caller's (the study runner, or ``distillscale train --store``).
    """

    def append_curve(self, run_id: str, rows: Sequence[CurveRow]) -> int:
        """Store logged steps (a step stored before is overwritten); return how many."""
        ...
