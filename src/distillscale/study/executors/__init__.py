"""Executors schedule tasks; they never decide what a task does (that is ``study.worker``).

Both executors have the same surface: :attr:`~Executor.free` slots, :meth:`~Executor.submit`
a task, :meth:`~Executor.poll` for events, :meth:`~Executor.close`. Events are
:class:`Progress` (a training step of a running task) and :class:`Finished` (an
:class:`~distillscale.study.worker.Outcome`, also when the worker process died).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from distillscale.runs.result import ProgressEvent
from distillscale.study.worker import Outcome, Task

__all__ = ["Event", "Executor", "Finished", "Progress"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """A running task reported a training step.

    Parameters
    ----------
    node_id : str
        The task's id.
    event : ProgressEvent
        Step, tokens, losses (nats per token), learning rate, FLOPs done (operations).
    """

    node_id: str
    event: ProgressEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished:
    """A task ended, with a result or a failure.

    Parameters
    ----------
    outcome : Outcome
        What it produced (a crashed worker gives ``ok=False, retry=True``).
    """

    outcome: Outcome


Event = Progress | Finished


class Executor(Protocol):
    """What the study runner needs from an executor."""

    @property
    def free(self) -> int:
        """Tasks that can be submitted now without queueing."""
        ...

    def submit(self, task: Task) -> None:
        """Start a task (call only while :attr:`free` > 0)."""
        ...

    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds for events; return those that arrived."""
        ...

    def close(self) -> None:
        """Stop workers (running tasks are abandoned; their checkpoints stay)."""
        ...
