"""A fast stand-in for the trainer: deterministic losses, real checkpoints and resumes.

Used to test scheduling, resumption and crash safety without torch. The loss of a run is a
pure function of its configuration, so an interrupted study must reproduce an uninterrupted
one exactly.
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import time
from pathlib import Path

from distillscale.flops import FlopsLedger, count_params, training_flops
from distillscale.runs.config import RunConfig
from distillscale.runs.result import CacheInfo, ProgressEvent, RunResult
from distillscale.study.worker import run_task_with

NAN_MARKER = "FAKE_NAN_DEPTH"
FINISHED_LOG = "trained_to_end.log"
DISK_FULL_MARKER = "FAKE_DISK_FULL_KIND"
CRASH_MARKER = "FAKE_CRASH_TEACHER_DEPTH"  # teachers of this depth crash (a retryable failure)


def true_loss(config: RunConfig, teacher_loss: float | None = None) -> float:
    """Chinchilla-like supervised loss; students move towards their teacher's loss."""
    n = count_params(config.shape).non_embedding
    d = config.tokens
    sup = 1.5 + 40.0 / n**0.3 + 60.0 / d**0.3
    if config.kind != "student" or teacher_loss is None:
        return sup
    return teacher_loss + (sup - teacher_loss) * 0.9 if sup > teacher_loss else sup


def _write_json(path: Path, doc: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


def fake_train(config: RunConfig, workdir: Path, progress=None, *, step_seconds: float = 0.0):
    workdir = Path(workdir)
    state = workdir / "fake_checkpoint.json"
    start = json.loads(state.read_text())["step"] if state.exists() else 0
    teacher_loss = None
    if config.teacher is not None:
        # the teacher's checkpoint (relative to the study dir, our cwd) holds its loss
        teacher_loss = json.loads(Path(config.teacher.checkpoint).read_text())["loss"]
    final = true_loss(config, teacher_loss)
    steps = config.steps
    per_step = config.tokens_per_step
    flops_per_step = training_flops(config.shape, per_step)
    nan_depth = os.environ.get(NAN_MARKER)
    crash_depth = os.environ.get(CRASH_MARKER)
    if crash_depth and int(crash_depth) == config.shape.n_layers and config.kind == "teacher":
        raise RuntimeError(f"fake crash of a depth-{crash_depth} teacher")
    curve = []
    for step in range(1, steps + 1):
        loss = final + 2.0 / step
        if nan_depth and int(nan_depth) == config.shape.n_layers and config.kind == "baseline":
            loss = math.nan
        curve.append((step, step * per_step, loss, None, config.lr))
        if step <= start:
            continue
        time.sleep(step_seconds)
        if os.environ.get(DISK_FULL_MARKER) == config.kind and step == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(state))
        _write_json(state, {"step": step})
        if progress is not None:
            progress(
                ProgressEvent(
                    run_id=config.run_id(),
                    step=step,
                    steps=steps,
                    tokens=step * per_step,
                    train_loss=loss,
                    val_loss=None,
                    lr=config.lr,
                    tokens_per_second=1e6,
                    flops=step * flops_per_step,
                )
            )
        if step == steps:  # training ran to its end in this attempt (not merely resumed)
            with open(workdir / FINISHED_LOG, "a") as fh:
                fh.write(f"{os.getpid()}\n")
        if math.isnan(loss):
            break
    ok = not math.isnan(curve[-1][2])
    _write_json(workdir / "checkpoint.pt", {"loss": final})
    return RunResult(
        run_id=config.run_id(),
        status="done" if ok else "failed",
        failure_reason=None if ok else "diverged: loss is NaN at step 1",
        loss=final if ok else None,
        params=count_params(config.shape).non_embedding,
        params_total=count_params(config.shape).total,
        tokens=steps * per_step,
        flops=FlopsLedger(student_training=steps * flops_per_step),
        curve=curve,
        tokens_per_second=1e6,
        mfu=None,
        wall_seconds=0.01 * steps,
        checkpoint=str(workdir / "checkpoint.pt"),
    )


def fake_cache(teacher, data, *, tokens, seq_len, top_k, path, batch_size, device):
    assert Path(teacher.checkpoint).exists()
    Path(path).write_text(json.dumps({"teacher": teacher.run_id, "tokens": tokens}))
    return CacheInfo(
        path=str(path), tokens=tokens, top_k=top_k, bytes_per_token=4 * top_k, flops=1e6
    )


def fast_run_fn(step_seconds: float = 0.0):
    """A picklable run function using the fakes."""
    return functools.partial(
        run_task_with,
        trainer=functools.partial(fake_train, step_seconds=step_seconds),
        cache_builder=fake_cache,
    )
