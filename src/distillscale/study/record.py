"""One run's life in the run store, shared by the study driver and ``train --store``.

Register (:func:`run_spec_record`), claim (:func:`claim_limit`), then complete or end the
attempt: :func:`result_failure` turns a trainer's failed result into the stored reason
(``disk full: ...`` and checkpoint-write failures as they are and fatal, anything else
``diverged: ...``); :func:`end_attempt` releases an interrupted attempt (its attempt taken
back) and fails any other. Failure reasons are :class:`distillscale.runs.FailureKind`
texts; FLOPs are operations, tokens counts, losses nats per token.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from distillscale.flops import FlopsLedger, count_params
from distillscale.runs import FailureKind, format_failure, is_cut_short, parse_failure
from distillscale.runs.config import RunConfig
from distillscale.runs.result import RunResult

if TYPE_CHECKING:  # the worker imports this module; the store (sqlalchemy) loads when used
    from distillscale.study.store import RunRecord, RunSpecRecord, Store

__all__ = ["claim_limit", "end_attempt", "result_failure", "run_spec_record"]


def run_spec_record(
    config: RunConfig,
    *,
    params: int,
    tokens: int,
    flops: FlopsLedger,
    teacher_run_id: str | None,
    study: str | None = None,
) -> RunSpecRecord:
    """The store's record of a run to train: its config, shape, size and planned work.

    Parameters
    ----------
    config : RunConfig
        The run (its ``run_id()`` and ``canonical_json()`` are stored).
    params : int
        Non-embedding parameters.
    tokens : int
        Training tokens.
    flops : FlopsLedger
        Planned FLOPs by phase (operations).
    teacher_run_id : str or None
        The teacher's run id when the store knows it.
    study : str or None
        The study's name (None for ``train --store``).
    """
    from distillscale.study.store import RunSpecRecord

    shape = config.shape
    return RunSpecRecord(
        run_id=config.run_id(),
        kind=config.kind,
        config=config.canonical_json(),
        study=study,
        n_layers=shape.n_layers,
        d_model=shape.d_model,
        n_heads=shape.n_heads,
        vocab_size=shape.vocab_size,
        seq_len=shape.seq_len,
        params=params,
        params_total=count_params(shape).total,
        tokens=tokens,
        flops=flops,
        teacher_run_id=teacher_run_id,
    )


def claim_limit(record: RunRecord | None, max_attempts: int) -> int:
    """The ``max_attempts`` to claim a run with: attempts cut short do not count.

    A run left ``running`` by a stopped or killed process, or last failed for a reason in
    :data:`distillscale.runs.CUT_SHORT` (interrupted, lease expired, disk full, waiting), may
    always be claimed once more.
    """
    if record is None:
        return max_attempts
    reason = record.failure_reason or ""
    if record.status == "running" or is_cut_short(reason):
        return max(max_attempts, record.attempts + 1)
    return max_attempts


def result_failure(result: RunResult) -> tuple[str, bool] | None:
    """A trainer's failed result as ``(stored reason, fatal)``; None for a finished run.

    A full disk or a checkpoint that could not be written is fatal and kept as it is; any
    other failure (a non-finite loss) is ``diverged: ...``, which retrying does not cure.
    """
    if result.status == "done" and result.loss is not None and math.isfinite(result.loss):
        return None
    reason = result.failure_reason or f"final loss {result.loss} is not finite"
    kind = parse_failure(reason)[0]
    if kind is FailureKind.disk_full or "writing checkpoint" in reason:
        return reason, True
    if kind is not FailureKind.diverged:
        reason = format_failure(FailureKind.diverged, reason)
    return reason, False


def end_attempt(store: Store, run_id: str, worker_id: str, reason: str) -> bool:
    """Record an attempt that did not finish; True when it was released, not failed.

    An ``interrupted: ...`` attempt is released (:meth:`Store.release`: failed with the reason,
    the attempt taken back); any other reason fails the run (the attempt counts unless the
    reason is cut short, see :func:`claim_limit`).
    """
    if parse_failure(reason)[0] is FailureKind.interrupted:
        store.release(run_id, worker_id, reason)
        return True
    store.fail(run_id, worker_id, reason)
    return False
