"""Local executor: a pool of long-lived worker processes on this machine.

Each worker is a ``spawn``-ed process with its own pipe to the driver; it runs one task at a
time with the run function and streams progress back. A worker that dies (killed, out of
memory) is noticed through its process sentinel: its task finishes as a retryable failure and a
fresh worker takes its place. Workers ignore Ctrl-C (the driver handles it); SIGTERM, which
:meth:`LocalExecutor.close` sends to busy workers, stops training after the current step with a
checkpoint (:mod:`distillscale.interrupts`), and the task reports an uncounted, interrupted
attempt. On Linux each worker asks the kernel to kill it when the driver
dies (``PR_SET_PDEATHSIG``), so a killed study never leaves orphans training behind its back.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from distillscale import interrupts
from distillscale.runs import FailureKind, format_failure
from distillscale.runs.result import ProgressEvent
from distillscale.study.executors import Event, Finished, Progress
from distillscale.study.worker import Outcome, RunFn, Task, run_task

__all__ = ["LocalExecutor"]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:  # no libc by that name: orphans end when their pipe closes
            pass


def _worker_main(conn: Connection, run_fn: RunFn, threads: int, parent: int) -> None:
    """Worker process: receive tasks, run them, send progress and outcomes."""
    _die_with_parent()
    if os.getppid() != parent:  # the driver died before the death signal was armed
        os._exit(1)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    with interrupts.handling():  # SIGTERM (the driver's close): checkpoint, report, exit
        _serve(conn, run_fn)


def _serve(conn: Connection, run_fn: RunFn) -> None:
    """Receive tasks and run them until told to stop, the pipe closes, or SIGTERM."""

    def report(event: ProgressEvent) -> None:
        conn.send(("progress", event))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError, interrupts.Interrupted):
            return
        if task is None:
            return
        try:
            outcome = run_fn(task, report)
        except Exception as exc:  # noqa: BLE001  the run function should not raise; be safe
            outcome = Outcome(
                node_id=task.node_id, ok=False, reason=f"{type(exc).__name__}: {exc}", retry=True
            )
        except interrupts.Interrupted as stop:  # the trainer saved its step first
            outcome = Outcome(
                node_id=task.node_id,
                ok=False,
                reason=format_failure(
                    FailureKind.interrupted, f"the worker got {stop} (rerun to resume)"
                ),
                retry=True,
            )
            try:
                conn.send(("done", outcome))
            except (OSError, ValueError):  # the driver is gone or closing: nothing to tell
                pass
            return
        conn.send(("done", outcome))


class _Slot:
    """One worker process, its pipe, and the task it is running."""

    def __init__(self, ctx: mp.context.SpawnContext, run_fn: RunFn, threads: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process: BaseProcess = ctx.Process(
            target=_worker_main,
            args=(child, run_fn, threads, os.getpid()),
            daemon=True,
            name="distillscale-worker",
        )
        self.process.start()
        child.close()
        self.task: Task | None = None


class LocalExecutor:
    """Run tasks in ``workers`` local processes (see module docstring).

    Parameters
    ----------
    workers : int
        Worker processes (tasks at once).
    threads : int
        Torch threads per worker.
    run_fn : RunFn
        The run function (default :func:`~distillscale.study.worker.run_task`); a picklable
        module-level function.
    """

    def __init__(self, *, workers: int, threads: int = 1, run_fn: RunFn = run_task) -> None:
        self.workers = workers
        self.threads = threads
        self.run_fn = run_fn
        self._ctx = mp.get_context("spawn")
        self._slots = [_Slot(self._ctx, run_fn, threads) for _ in range(workers)]

    @property
    def free(self) -> int:
        """Idle workers."""
        return sum(1 for s in self._slots if s.task is None)

    def submit(self, task: Task) -> None:
        """Hand a task to an idle worker, first replacing it if it died while idle.

        :meth:`poll` watches only busy workers, so an idle worker that was killed is noticed
        here: by its exit, or by its pipe refusing the task (it may die between the check and
        the send). A fresh worker takes its place and runs the task.
        """
        index, slot = next((i, s) for i, s in enumerate(self._slots) if s.task is None)
        if slot.process.is_alive():
            try:
                slot.conn.send(task)
            except OSError as exc:
                log.debug("idle worker's pipe refused a task (%s)", exc)
            else:
                slot.task = task
                return
        slot = self._restart_idle(index)
        slot.conn.send(task)
        slot.task = task

    def _restart_idle(self, index: int) -> _Slot:
        """Replace the dead idle worker in slot ``index`` with a fresh one."""
        dead = self._slots[index]
        if dead.process.is_alive():  # the pipe broke but the process lingers: end it
            dead.process.kill()
        dead.process.join(timeout=5)
        code = dead.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
        log.warning("idle worker died (%s); starting a new one", how)
        dead.conn.close()
        fresh = _Slot(self._ctx, self.run_fn, self.threads)
        self._slots[index] = fresh
        return fresh

    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds for progress, outcomes or dead workers."""
        busy = [s for s in self._slots if s.task is not None]
        if not busy:
            return []
        waitables: list[object] = [s.conn for s in busy] + [s.process.sentinel for s in busy]
        ready = set(wait(waitables, timeout))  # type: ignore[arg-type]
        events: list[Event] = []
        for slot in busy:
            if slot.conn in ready:
                events.extend(self._drain(slot))
            if slot.task is not None and slot.process.sentinel in ready:
                events.extend(self._drain(slot))  # messages sent just before dying
                if slot.task is not None:
                    events.append(self._replace(slot))
        return events

    def _drain(self, slot: _Slot) -> list[Event]:
        events: list[Event] = []
        while slot.task is not None:
            try:
                if not slot.conn.poll():
                    break
                kind, payload = slot.conn.recv()
            except (EOFError, OSError):
                break
            if kind == "progress":
                events.append(Progress(node_id=slot.task.node_id, event=payload))
            else:
                slot.task = None
                events.append(Finished(outcome=payload))
        return events

    def _replace(self, slot: _Slot) -> Event:
        task = slot.task
        assert task is not None
        slot.process.join(timeout=5)
        code = slot.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
        log.warning("worker for %s died (%s); starting a new one", task.node_id, how)
        slot.conn.close()
        fresh = _Slot(self._ctx, self.run_fn, self.threads)
        self._slots[self._slots.index(slot)] = fresh
        return Finished(
            outcome=Outcome(
                node_id=task.node_id,
                ok=False,
                reason=f"worker process died ({how})",
                retry=True,
            )
        )

    def close(self) -> None:
        """Stop every worker: idle ones are asked, busy ones are terminated."""
        for slot in self._slots:
            try:
                if slot.task is None:
                    slot.conn.send(None)
                else:
                    slot.process.terminate()
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 10.0
        for slot in self._slots:
            while slot.process.is_alive() and time.monotonic() < deadline:
                _discard(slot.conn)  # a worker blocked on a full pipe never reaches its checkpoint
                slot.process.join(timeout=0.05)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(timeout=5)
            slot.conn.close()
        self._slots = []


def _discard(conn: Connection) -> None:
    """Read and drop whatever a worker has sent (progress after the driver stopped listening)."""
    try:
        while conn.poll():
            conn.recv()
    except (EOFError, OSError):
        pass
