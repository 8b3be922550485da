"""A run's life in the store, shared by the study driver and ``train --store`` (study.record)."""

from __future__ import annotations

import pytest

from distillscale.flops import FlopsLedger, TransformerShape
from distillscale.runs import FailureKind, format_failure
from distillscale.study.record import claim_limit, end_attempt, result_failure, run_spec_record
from distillscale.study.store import open_store
from distillscale.train import DataConfig, RunConfig, RunResult


def _config() -> RunConfig:
    shape = TransformerShape(
        n_layers=1, d_model=16, n_heads=1, n_kv_heads=1, ffn="gated", ffn_dim=64,
        vocab_size=256, seq_len=16, tied_embeddings=False,
    )  # fmt: skip
    return RunConfig(kind="teacher", shape=shape, tokens=1024, data=DataConfig())


def _result(status: str, loss: float | None, reason: str | None) -> RunResult:
    return RunResult(
        run_id="r", status=status, failure_reason=reason, loss=loss, params=1, params_total=1,
        tokens=1, flops=FlopsLedger(), wall_seconds=0.0, tokens_per_second=0.0,
        checkpoint=None, curve=(), mfu=None,
    )  # fmt: skip


def test_interrupted_attempts_are_released_and_cut_short_ones_claimable_again(tmp_path):
    config = _config()
    with open_store(tmp_path / "s.sqlite") as store:
        store.register(run_spec_record(config, params=10, tokens=1024, flops=FlopsLedger(),
                                       teacher_run_id=None))  # fmt: skip
        run = config.run_id()
        assert store.claim(run, "w", 60, max_attempts=claim_limit(store.get(run), 1))
        assert end_attempt(store, run, "w", format_failure(FailureKind.interrupted, "stop"))
        record = store.get(run)
        assert (record.status, record.attempts) == ("failed", 0)
        assert store.claim(run, "w", 60, max_attempts=claim_limit(store.get(run), 1))
        full = "disk full: no space left on device writing x; free space and rerun"
        assert not end_attempt(store, run, "w", full)
        record = store.get(run)
        assert (record.status, record.attempts) == ("failed", 1)
        assert claim_limit(record, 1) == 2  # a full disk does not use up the run's attempt
        assert store.claim(run, "w", 60, max_attempts=claim_limit(record, 1))
        end_attempt(store, run, "w", "diverged: loss is nan")
        assert claim_limit(store.get(run), 1) == 1


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("loss is nan at step 3", ("diverged: loss is nan at step 3", False)),
        ("diverged: loss is inf", ("diverged: loss is inf", False)),
        ("disk full: no space left", ("disk full: no space left", True)),
        ("writing checkpoint c.pt failed at step 4: denied", (
            "writing checkpoint c.pt failed at step 4: denied", True)),
    ],
)  # fmt: skip
def test_result_failure(reason, expected):
    assert result_failure(_result("failed", None, reason)) == expected
    assert result_failure(_result("done", 2.5, None)) is None
    assert result_failure(_result("done", float("nan"), None)) == (
        "diverged: final loss nan is not finite", False)  # fmt: skip
