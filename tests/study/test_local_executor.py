from __future__ import annotations

import os
import signal
import time

import pytest

from distillscale.study.executors import Finished
from distillscale.study.executors.local import LocalExecutor
from distillscale.study.graph import build_graph
from distillscale.study.spec import parse_spec
from distillscale.study.worker import Task

from .fakes import fast_run_fn, true_loss


def _teacher_task(tmp_path, tiny_doc) -> tuple[Task, float]:
    teacher = next(r for r in build_graph(parse_spec(tiny_doc)).runs if r.kind == "teacher")
    (tmp_path / "runs").mkdir(exist_ok=True)
    task = Task(
        node_id=teacher.run_id,
        kind="teacher",
        config=teacher.config,
        study_dir=str(tmp_path),
        workdir=f"runs/{teacher.run_id}",
    )
    return task, true_loss(teacher.config)


def _outcome(ex: LocalExecutor, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for event in ex.poll(0.5):
            if isinstance(event, Finished):
                return event.outcome
    raise AssertionError("no outcome")


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "unreaped"])
def test_a_killed_idle_worker_is_replaced_and_the_task_runs(tmp_path, tiny_doc, reaped):
    # regression: poll() watches only busy workers, so submit() sent to the dead worker's
    # pipe and raised BrokenPipeError, crashing the driver
    task, loss = _teacher_task(tmp_path, tiny_doc)
    ex = LocalExecutor(workers=1, run_fn=fast_run_fn())
    try:
        dead = ex._slots[0].process
        os.kill(dead.pid, signal.SIGKILL)
        if reaped:  # dead and known to be dead: replaced before sending
            dead.join(timeout=10)
            assert dead.exitcode == -signal.SIGKILL
        ex.submit(task)  # unreaped: the send itself may fail, or go to the dying pipe
        outcome = _outcome(ex)
        if not outcome.ok:  # the task reached the pipe before the kernel closed it
            assert not reaped and "worker process died" in (outcome.reason or "")
            assert outcome.retry
            ex.submit(task)
            outcome = _outcome(ex)
        assert outcome.ok and outcome.result is not None
        assert outcome.result.loss == pytest.approx(loss)
        assert ex._slots[0].process.pid != dead.pid and ex._slots[0].process.is_alive()
        assert ex.free == 1
    finally:
        ex.close()
