"""Records that cross the store boundary: what to register, what a run produced, what is stored.

Times are UTC seconds since the Unix epoch, taken from the database server's clock (see
:mod:`distillscale.study.store.store`). Losses are nats per token; FLOPs are operations.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from distillscale.errors import InputError
from distillscale.flops import FlopsLedger
from distillscale.runs import CurveRow, RunKind, RunStatus

__all__ = [
    "KINDS",
    "STATUSES",
    "CurveRow",
    "RunOutcome",
    "RunRecord",
    "RunSpecRecord",
    "ledger_columns",
]

#: Run kinds (:class:`distillscale.runs.RunKind`): trained teacher, distilled student,
#: supervised baseline, logit cache, lone run.
KINDS: tuple[str, ...] = tuple(k.value for k in RunKind)
#: Run states (:class:`distillscale.runs.RunStatus`): registered, claimed by a worker, finished
#: with a result, stopped with a reason.
STATUSES: tuple[str, ...] = tuple(s.value for s in RunStatus)


def ledger_columns(ledger: FlopsLedger) -> dict[str, float]:
    """Map a ledger onto the store's FLOPs columns (operations).

    ``flops_training`` is the run's own training (student, teacher or supervised training);
    ``flops_teacher_inference`` and ``flops_logit_cache`` as named; ``flops_total`` the sum.
    """
    return {
        "flops_training": ledger.student_training
        + ledger.teacher_training
        + ledger.supervised_training,
        "flops_teacher_inference": ledger.teacher_inference,
        "flops_logit_cache": ledger.logit_cache,
        "flops_total": ledger.total,
    }


def _check_choice(where: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{where}: {value!r} is not allowed; use one of {', '.join(allowed)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpecRecord:
    """A run to register: identity, configuration, shape and planned size and compute.

    Parameters
    ----------
    run_id : str
        Content hash of the run's configuration, computed by the caller; the primary key.
    kind : str
        One of :data:`KINDS`.
    config : str
        The full run configuration as JSON text (kept verbatim).
    study : str or None
        Study name, or None for a lone run.
    n_layers, d_model, n_heads, vocab_size, seq_len : int or None
        Model shape (see :class:`distillscale.flops.TransformerShape`); None for a cache.
    params : int or None
        Non-embedding parameters (count).
    params_total : int or None
        All parameters, embeddings included (count).
    tokens : int or None
        Planned training tokens, repeats included (count).
    flops : FlopsLedger
        Planned FLOPs by phase (operations).
    teacher_run_id : str or None
        The teacher's run id; that run must be in the store or in the same
        ``register_many`` call (foreign key).
    """

    run_id: str
    kind: str
    config: str
    study: str | None = None
    n_layers: int | None = None
    d_model: int | None = None
    n_heads: int | None = None
    vocab_size: int | None = None
    seq_len: int | None = None
    params: int | None = None
    params_total: int | None = None
    tokens: int | None = None
    flops: FlopsLedger = FlopsLedger()
    teacher_run_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.run_id, str) or not self.run_id:
            raise InputError(f"RunSpecRecord.run_id: {self.run_id!r} must be a non-empty string")
        _check_choice(f"run {self.run_id} kind", self.kind, KINDS)
        try:
            json.loads(self.config)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"run {self.run_id} config: not JSON text ({exc}); pass json.dumps(config)"
            ) from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutcome:
    """What a finished run hands to :meth:`Store.complete`.

    Parameters
    ----------
    loss : float or None
        Final held-out cross-entropy, nats per token (None for a logit cache).
    tokens : int or None
        Tokens actually trained on (count); None keeps the registered value.
    flops : FlopsLedger or None
        FLOPs actually spent by phase (operations); None keeps the registered values.
    teacher_loss : float or None
        The teacher's held-out loss, nats per token, when the run was distilled.
    wall_seconds : float or None
        Wall-clock training time, seconds.
    tokens_per_second : float or None
        Mean training throughput, tokens per second.
    checkpoint_path : str or None
        Final checkpoint (or cache file) path.
    """

    loss: float | None
    tokens: int | None = None
    flops: FlopsLedger | None = None
    teacher_loss: float | None = None
    wall_seconds: float | None = None
    tokens_per_second: float | None = None
    checkpoint_path: str | None = None

    def __post_init__(self) -> None:
        for name in ("loss", "teacher_loss"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InputError(
                    f"RunOutcome.{name}: {value!r} is not a finite positive loss "
                    "(nats per token); report a diverged run with Store.fail instead"
                )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One stored run, as read back (all columns of the ``runs`` table).

    Times (``claim_expires_at``, ``started_at``, ``finished_at``, ``created_at``) are UTC
    seconds since the epoch from the database clock; see :class:`RunSpecRecord` and
    :class:`RunOutcome` for the other fields.
    """

    run_id: str
    study: str | None
    kind: str
    config: str
    n_layers: int | None
    d_model: int | None
    n_heads: int | None
    vocab_size: int | None
    seq_len: int | None
    params: int | None
    params_total: int | None
    tokens: int | None
    flops_training: float | None
    flops_teacher_inference: float | None
    flops_logit_cache: float | None
    flops_total: float | None
    loss: float | None
    teacher_run_id: str | None
    teacher_loss: float | None
    status: str
    failure_reason: str | None
    attempts: int
    claimed_by: str | None
    claim_expires_at: float | None
    started_at: float | None
    finished_at: float | None
    wall_seconds: float | None
    tokens_per_second: float | None
    checkpoint_path: str | None
    created_at: float
