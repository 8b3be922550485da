"""Data-parallel launch: ``nproc`` local processes (gloo on CPU, NCCL on GPU), or ``torchrun``.

:func:`spawn_train_run` starts ``nproc`` processes that set the torchrun environment variables
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), join one process
group and run the same training loop; each rank trains on its slice of the global batch and
gradients are averaged with ``all_reduce``, so the run matches one process at the same global
batch up to floating-point reduction order. Rank 0 writes checkpoints and relays progress
events and the result to the parent through a queue.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from distillscale.runs import RunSink, curve_row
from distillscale.runs.config import RunConfig
from distillscale.runs.result import ProgressEvent, RunResult

__all__ = ["backend", "spawn_train_run"]

log = logging.getLogger(__name__)


def backend() -> str:
    """``"nccl"`` when CUDA is available, else ``"gloo"``."""
    return "nccl" if torch.cuda.is_available() else "gloo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(
    rank: int,
    world: int,
    port: int,
    config: dict[str, Any],
    workdir: str,
    threads: int,
    q: Any,
    train: Callable[..., RunResult],
) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(threads)
    dist.init_process_group(backend(), rank=rank, world_size=world)
    try:
        result = train(
            RunConfig.from_dict(config),
            Path(workdir),
            store=None,
            progress=q.put if rank == 0 else None,
        )
        if rank == 0:
            q.put(result)
    except BaseException as exc:  # noqa: BLE001  reported to the parent, which re-raises
        q.put(("error", rank, f"{type(exc).__name__}: {exc}", exc))
        raise
    finally:
        dist.destroy_process_group()


def spawn_train_run(
    config: RunConfig,
    workdir: Path,
    *,
    store: RunSink | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    train: Callable[..., RunResult],
) -> RunResult:
    """Train ``config`` with ``config.nproc`` local data-parallel processes.

    Parameters and result as :func:`distillscale.train.train_run`; each process gets
    ``torch.get_num_threads() // nproc`` threads (at least one). The store, if given, receives
    the whole curve when the run ends. ``train`` is the one-process training function each
    rank runs (the trainer passes its own, so this module does not import the trainer).
    """
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    threads = max(1, torch.get_num_threads() // config.nproc)
    port = _free_port()
    procs = [
        ctx.Process(
            target=_worker,
            args=(r, config.nproc, port, config.to_dict(), str(workdir), threads, q, train),
            daemon=True,
        )
        for r in range(config.nproc)
    ]
    for p in procs:
        p.start()
    result: RunResult | None = None
    try:
        while result is None:
            try:
                item = q.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(
                        f"data-parallel rank exited with status {dead[0].exitcode}"
                    ) from None
                continue
            if isinstance(item, ProgressEvent):
                if progress is not None:
                    progress(item)
            elif isinstance(item, RunResult):
                result = item
            else:
                _, rank, message, exc = item
                if isinstance(exc, Exception):
                    raise exc
                raise RuntimeError(f"data-parallel rank {rank} failed: {message}")
    finally:
        for p in procs:
            p.join(timeout=30 if result is not None else 1)
            if p.is_alive():
                p.terminate()
                p.join()
    if store is not None:
        store.append_curve(result.run_id, [curve_row(pt) for pt in result.curve])
    return result
