"""Ray executor: each task is a Ray remote call with its own CPU/GPU request.

The only module that imports ``ray``. The remote function is the same run function the local
executor uses; outcomes come back to the driver as return values and progress through a Ray
queue, and the driver writes everything to the store (workers on other machines never need the
store). The study directory must be on a file system that every node sees at the same path.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from distillscale.errors import InputError, require
from distillscale.runs.result import ProgressEvent
from distillscale.study.executors import Event, Finished, Progress
from distillscale.study.worker import Outcome, RunFn, Task

__all__ = ["RayExecutor"]

log = logging.getLogger(__name__)

#: Progress messages per running task are sent at most this often (seconds).
_PROGRESS_INTERVAL = 0.5


def _remote_run(task: Task, run_fn: RunFn, queue: Any) -> Outcome:
    """Body of the Ray task: run, forwarding throttled progress to the driver's queue."""
    last = [0.0]

    def report(event: ProgressEvent) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_INTERVAL or event.step == event.steps:
            last[0] = now
            try:
                queue.put_nowait((task.node_id, event))
            except Exception:  # noqa: BLE001  progress is best effort (queue full or gone)
                pass

    return run_fn(task, report)


def _address_subject(address: str, shown: str | None = None) -> tuple[str, str, str]:
    """An error's subject: the spec's ``executor.address`` (the command line's ``--address``).

    ``shown`` is the value as the command line writes it (default: ``address`` as it is).
    """
    return ("address", f"executor.address {address!r}", address if shown is None else shown)


def _check_reachable(address: str) -> None:
    """Refuse a ``host:port`` address that does not accept connections (5 s timeout)."""
    if address in ("auto", "local", ""):
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    host, port = parts.hostname, parts.port
    if host is None or port is None:
        raise InputError(
            ": give 'auto' (the running cluster), 'local' (start one here) or HOST:PORT of a "
            "Ray head node",
            subject=_address_subject(address, repr(address)),
        )
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        raise InputError(
            f": cannot reach a Ray cluster there ({exc})",
            subject=_address_subject(address),
            hints=(("executor", "start one with 'ray start --head' or use executor.kind local"),),
        ) from None


class RayExecutor:
    """Run tasks as Ray remote calls.

    Parameters
    ----------
    address : str
        ``local`` (start a cluster in this process, or use the one already initialised),
        ``auto`` (the running cluster) or ``HOST:PORT`` / ``ray://HOST:PORT``.
    workers : int
        Tasks in flight at once.
    cpus_per_run, gpus_per_run : float
        Ray resources each task requests.
    run_fn : RunFn
        The run function (picklable).
    """

    def __init__(
        self,
        *,
        address: str,
        workers: int,
        cpus_per_run: float,
        gpus_per_run: float,
        run_fn: RunFn,
    ) -> None:
        self.ray = require("ray", "ray", "the Ray executor")
        self.workers = workers
        self.run_fn = run_fn
        self._started = False
        if not self.ray.is_initialized():
            _check_reachable(address)
            try:
                if address == "local":
                    self.ray.init(include_dashboard=False, log_to_driver=False)
                else:
                    self.ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(
                    f": cannot connect to Ray ({exc})",
                    subject=_address_subject(address),
                    hints=(
                        (
                            "executor",
                            "start a cluster with 'ray start --head', give its address, or use "
                            "executor.kind local",
                        ),
                    ),
                ) from None
            self._started = True
        from ray.util.queue import Queue

        self._queue = Queue(actor_options={"num_cpus": 0})
        self._remote = self.ray.remote(_remote_run).options(
            num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=0
        )
        self._refs: dict[Any, Task] = {}

    @property
    def free(self) -> int:
        """Tasks that may still be submitted."""
        return self.workers - len(self._refs)

    def submit(self, task: Task) -> None:
        """Submit a task as a remote call."""
        ref = self._remote.remote(task, self.run_fn, self._queue)
        self._refs[ref] = task

    def poll(self, timeout: float) -> list[Event]:
        """Progress from the queue, then outcomes of the remote calls that finished."""
        events: list[Event] = []
        if self._refs:
            ready, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=timeout)
            if ready:
                ready, _ = self.ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        else:
            ready = []
        size = self._queue.qsize()
        if size:
            for node_id, event in self._queue.get_nowait_batch(size):
                events.append(Progress(node_id=node_id, event=event))
        for ref in ready:
            task = self._refs.pop(ref)
            try:
                outcome = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                outcome = Outcome(
                    node_id=task.node_id,
                    ok=False,
                    reason=f"ray task failed: {type(exc).__name__}: {first}",
                    retry=True,
                )
            events.append(Finished(outcome=outcome))
        return events

    def close(self) -> None:
        """Cancel running calls; shut Ray down if this executor started it."""
        for ref in list(self._refs):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001  best effort on the way out
                log.debug("could not cancel a ray task", exc_info=True)
        self._refs.clear()
        try:
            self.ray.kill(self._queue.actor)
        except Exception:  # noqa: BLE001
            log.debug("could not stop the progress queue", exc_info=True)
        if self._started:
            self.ray.shutdown()
