"""One logged training step, as the trainer emits it and the run store keeps it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CurveRow"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CurveRow:
    """One logged training step.

    Parameters
    ----------
    step : int
        Optimiser steps done.
    tokens : int
        Training tokens seen so far (count).
    train_loss : float
        Training loss at this step, nats per token.
    val_loss : float or None
        Held-out loss if evaluated at this step, nats per token.
    lr : float
        Learning rate used at this step.
    """

    step: int
    tokens: int
    train_loss: float
    val_loss: float | None = None
    lr: float


def curve_row(point: tuple[int, int, float, float | None, float]) -> CurveRow:
    """A trainer's curve point ``(step, tokens, train_loss, val_loss, lr)`` as a row."""
    step, tokens, train_loss, val_loss, lr = point
    return CurveRow(step=step, tokens=tokens, train_loss=train_loss, val_loss=val_loss, lr=lr)
