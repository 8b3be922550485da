"""Records a run hands back: progress events while it trains and the final result.

Torch-free, like :mod:`distillscale.runs.config`, so that study code can read them without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distillscale.flops import FlopsLedger

__all__ = ["CacheInfo", "CurvePoint", "ProgressEvent", "RunResult"]

#: One logged step: (step, tokens seen, train cross-entropy nats/token, val loss nats/token or
#: None, lr).
CurvePoint = tuple[int, int, float, float | None, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressEvent:
    """Sent to the ``progress`` callback after every optimiser step.

    Parameters
    ----------
    run_id : str
        The run's id.
    step : int
        Steps done (1-based after the first step).
    steps : int
        Steps in the whole run.
    tokens : int
        Training tokens seen so far (count).
    train_loss : float
        Cross-entropy of this step's training batch (before the update), nats per token.
    val_loss : float or None
        Held-out loss if validated at this step, nats per token.
    lr : float
        Learning rate used at this step.
    tokens_per_second : float
        Training throughput since the run (or resume) started, tokens per second.
    flops : float
        Training FLOPs done so far (student, teacher inference included; operations).
    """

    run_id: str
    step: int
    steps: int
    tokens: int
    train_loss: float
    val_loss: float | None
    lr: float
    tokens_per_second: float
    flops: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What a finished (or failed) run produced.

    Parameters
    ----------
    run_id : str
        16 hex digits, ``RunConfig.run_id()``.
    status : str
        ``"done"`` or ``"failed"``.
    failure_reason : str or None
        Why a failed run stopped (NaN loss, divergence), else None.
    loss : float or None
        Final held-out cross-entropy, nats per token (None if the run failed before it).
    params : int
        Non-embedding parameters (accountant count).
    params_total : int
        All parameters, embeddings included (accountant count).
    tokens : int
        Training tokens seen (count, repeats included).
    flops : FlopsLedger
        FLOPs by phase (operations): student training, teacher inference.
    curve : list of CurvePoint
        (step, tokens, train_loss, val_loss or None, lr) per step.
    tokens_per_second : float
        Mean training throughput (tokens per second) over this process's steps.
    mfu : float or None
        Model FLOPs utilisation in [0, 1] against ``peak_flops``; None without a peak.
    wall_seconds : float
        Wall-clock seconds spent training, summed over resumes.
    checkpoint : str or None
        Path of the final checkpoint (model weights for teachers and evaluation).
    """

    run_id: str
    status: str
    failure_reason: str | None
    loss: float | None
    params: int
    params_total: int
    tokens: int
    flops: FlopsLedger
    curve: list[CurvePoint]
    tokens_per_second: float
    mfu: float | None
    wall_seconds: float
    checkpoint: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; ``flops`` as a dict of phase -> FLOPs."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "loss": self.loss,
            "params": self.params,
            "params_total": self.params_total,
            "tokens": self.tokens,
            "flops": self.flops.as_dict(),
            "curve": [list(p) for p in self.curve],
            "tokens_per_second": self.tokens_per_second,
            "mfu": self.mfu,
            "wall_seconds": self.wall_seconds,
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheInfo:
    """A teacher-logit cache written by ``build_logit_cache``.

    Parameters
    ----------
    path : str
        The cache file.
    tokens : int
        Token positions covered (count).
    top_k : int
        Teacher log-probabilities kept per position.
    bytes_per_token : int
        File bytes per covered position (top-k float16 log-probs, indices, remaining mass).
    flops : float
        Teacher forward FLOPs spent writing it (operations), charged once to the cache.
    """

    path: str
    tokens: int
    top_k: int
    bytes_per_token: int
    flops: float
