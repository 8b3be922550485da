"""Batched training (train/batched.py): the same runs as train_run, one by one, to fp tolerance.

Tolerance: relative 1e-5 on every train and held-out loss. Row k of a batched matmul sums the
same products as the single run's matmul, but a BLAS may order the sums differently for a
batched call, and float32 rounding then differs by ~1e-7 per op; over 30 AdamW steps of a tiny
model that stays far below 1e-5. (On this machine's CPU build they agree bit for bit.)
"""

import dataclasses

import pytest
import torch

from distillscale.errors import InputError
from distillscale.flops import family_shape
from distillscale.train import DataConfig, KDConfig, train_run
from distillscale.train.batched import batch_key, train_batched
from distillscale.train.logit_cache import build_logit_cache
from distillscale.train.trainer import CHECKPOINT

from .conftest import DATA, tiny_config

REL = 1e-5


class Stop(Exception):
    pass


def _same_curves(a, b):
    assert len(a.curve) == len(b.curve)
    for p, q in zip(a.curve, b.curve, strict=True):
        assert p[:2] == q[:2] and p[4] == q[4]  # step, tokens, lr: exact
        assert q[2] == pytest.approx(p[2], rel=REL)
        assert (p[3] is None) == (q[3] is None)
        if p[3] is not None:
            assert q[3] == pytest.approx(p[3], rel=REL)


def _configs():
    other_data = DataConfig(max_corpus_bytes=1_000_000, val_fraction=0.2, seed=5)
    return [
        tiny_config(seed=0),
        tiny_config(seed=1, lr=5e-3, weight_decay=0.0),
        tiny_config(seed=2, tokens=8 * 32 * 20, schedule="wsd", grad_clip=0.3),  # finishes first
        tiny_config(seed=3, data=other_data, checkpoint_every=7),
    ]


@pytest.fixture(scope="module")
def singles(tmp_path_factory):
    root = tmp_path_factory.mktemp("single")
    return [train_run(c, root / str(i)) for i, c in enumerate(_configs())]


def test_batched_runs_match_single_runs(singles, tmp_path):
    configs = _configs()
    results = train_batched(configs, [tmp_path / str(i) for i in range(len(configs))])
    for single, batched, config in zip(singles, results, configs, strict=True):
        assert batched.status == "done" and batched.run_id == config.run_id()
        _same_curves(single, batched)
        assert batched.loss == pytest.approx(single.loss, rel=REL)
        assert (batched.tokens, batched.params, batched.flops) == (
            single.tokens, single.params, single.flops,
        )  # fmt: skip
        state = torch.load(batched.checkpoint, weights_only=True)
        assert state["step"] == config.steps and state["result"]["loss"] == batched.loss


def test_batched_resumes_single_and_single_resumes_batched(singles, tmp_path):
    configs = _configs()[:2]
    configs = [dataclasses.replace(c, checkpoint_every=10) for c in configs]

    def stop(event):
        if event.step == 15:
            raise Stop

    dirs = [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(Stop):
        train_batched(configs, dirs, progress=stop)
    for d in dirs:
        assert torch.load(d / CHECKPOINT, weights_only=True)["step"] == 10
    resumed = [train_run(c, d) for c, d in zip(configs, dirs, strict=True)]
    for single, r in zip(singles[:2], resumed, strict=True):
        _same_curves(single, r)
    # and the other way: single runs stopped at step 10, finished batched
    dirs = [tmp_path / "c", tmp_path / "d"]
    for c, d in zip(configs, dirs, strict=True):
        with pytest.raises(Stop):
            train_run(c, d, progress=stop)
    for single, r in zip(singles[:2], train_batched(configs, dirs), strict=True):
        _same_curves(single, r)


def test_a_diverging_run_fails_alone(singles, tmp_path):
    bad = tiny_config(seed=9, lr=30.0, grad_clip=0.0, warmup_steps=0)
    configs = [_configs()[0], bad, _configs()[1]]
    results = train_batched(configs, [tmp_path / str(i) for i in range(3)])
    assert results[1].status == "failed" and results[1].loss is None
    assert "diverged" in results[1].failure_reason or "not finite" in results[1].failure_reason
    assert len(results[1].curve) < bad.steps and results[1].checkpoint is None
    _same_curves(singles[0], results[0])
    _same_curves(singles[1], results[2])


def test_distilled_students_from_logit_caches_match(tiny_teacher, tmp_path):
    cache = build_logit_cache(
        tiny_teacher, DATA, tokens=8 * 32 * 30, seq_len=32, top_k=16,
        path=tmp_path / "t.logits", batch_size=8,
    )  # fmt: skip
    kd = KDConfig(top_k=16, top_k_mode="bucket")
    configs = [
        tiny_config(kind="student", teacher_cache=cache.path, kd=kd, seed=0),
        tiny_config(kind="student", teacher_cache=cache.path, kd=KDConfig(top_k=16, weight=0.5)),
        tiny_config(kind="baseline", seed=4),
    ]
    singles = [train_run(c, tmp_path / f"s{i}") for i, c in enumerate(configs)]
    batched = train_batched(configs, [tmp_path / f"b{i}" for i in range(3)])
    for s, b in zip(singles, batched, strict=True):
        assert b.status == "done"
        _same_curves(s, b)


def test_runs_that_cannot_share_a_stack_are_refused(tmp_path):
    a = tiny_config()
    wide = tiny_config(shape=family_shape(2, aspect=32, head_dim=32, seq_len=32))
    assert batch_key(a) != batch_key(wide)
    with pytest.raises(InputError, match="must share shape"):
        train_batched([a, wide], [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(InputError, match="share a workdir"):
        train_batched([a, tiny_config(seed=1)], [tmp_path / "a", tmp_path / "a"])


def test_compiled_runs_share_a_stack_only_with_compiled_runs():
    a, b = tiny_config(compile=True), tiny_config(compile=True, seed=1, lr=5e-3)
    assert batch_key(a) is not None and batch_key(a) == batch_key(b)
    assert batch_key(a) != batch_key(tiny_config())


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiled_batched_runs_match_compiled_single_runs(tmp_path):
    """torch.compile of the stack's forward (inductor's kernels for the stacked shapes) keeps
    the losses of the same runs compiled one by one, to the eager tolerance; a run that
    finishes first shrinks the stack (a recompilation) and the others go on."""
    configs = [
        tiny_config(seed=0, compile=True),
        tiny_config(seed=1, lr=5e-3, compile=True),
        tiny_config(seed=2, tokens=8 * 32 * 20, compile=True),  # finishes first
    ]
    singles = [train_run(c, tmp_path / f"s{i}") for i, c in enumerate(configs)]
    results = train_batched(configs, [tmp_path / f"b{i}" for i in range(len(configs))])
    for single, batched in zip(singles, results, strict=True):
        assert batched.status == "done"
        _same_curves(single, batched)


def test_per_step_bookkeeping_does_not_rehash_configs(monkeypatch, tmp_path):
    """A run's id (SHA-256 of its config's JSON) is computed once per run, not once per step
    and run for each progress event: at depth 1 that hashing was ~3 % of a batched step."""
    from distillscale.runs.config import RunConfig

    calls = []
    real = RunConfig.run_id

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(RunConfig, "run_id", counting)
    counts, events = [], []
    for steps in (4, 12):
        calls.clear()
        configs = [tiny_config(seed=s, tokens=8 * 32 * steps, eval_every=0) for s in (0, 1)]
        ids = [real(c) for c in configs]
        seen = []
        results = train_batched(configs, [tmp_path / f"{steps}-{s}" for s in (0, 1)],
                                progress=lambda e, seen=seen: seen.append(e.run_id))  # fmt: skip
        assert [r.run_id for r in results] == ids
        assert seen == ids * steps  # every step reports both runs, by their own ids
        counts.append(len(calls))
        events.append(len(seen))
    assert events == [8, 24]
    assert counts[0] == counts[1]  # independent of the number of steps
