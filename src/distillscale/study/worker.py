"""The one run function every executor calls: train a run, or build a logit cache, in a workdir.

Executors only schedule; :func:`run_task` does the work and reports back. It is the only place
in ``study`` that imports ``distillscale.train``'s torch modules, lazily, so that planning a
study (``--dry-run``) never loads torch.

Crash safety lives here and in the trainer: a run's workdir holds its checkpoints and, once it
finishes, ``result.json`` (written atomically). A task whose ``result.json`` exists returns it
without training again; otherwise the trainer resumes from the last checkpoint. Every start of
training appends one line to ``attempts.log`` in the workdir, so tests (and users) can count them.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscale.atomic import atomic_write_json
from distillscale.errors import (
    DISK_FULL_ERRNOS,
    DamagedFile,
    InputError,
    disk_full_message,
    require,
)
from distillscale.flops import FlopsLedger, TransformerShape, forward_flops_per_token
from distillscale.runs import FailureKind, format_failure
from distillscale.runs.config import RunConfig
from distillscale.runs.result import CacheInfo, ProgressEvent, RunResult
from distillscale.study.messages import study_message
from distillscale.study.record import result_failure

__all__ = [
    "Outcome",
    "RunFn",
    "Task",
    "read_result",
    "run_task",
    "run_task_with",
    "write_json_atomic",
]

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
ATTEMPTS_FILE = "attempts.log"


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One unit of work handed to an executor.

    Parameters
    ----------
    node_id : str
        Run id or cache id.
    kind : str
        ``"teacher"``, ``"student"``, ``"baseline"`` or ``"cache"``.
    config : RunConfig
        The run's configuration; for a cache, the teacher's.
    study_dir : str
        Absolute path of the study directory; relative paths in configs resolve against it.
    workdir : str
        Relative to ``study_dir``: ``runs/<run_id>`` or ``caches``.
    cache_path : str or None
        For a cache: ``caches/<cache_id>.logits``.
    cache_tokens : int
        For a cache: token positions to cover (count).
    top_k : int
        For a cache: log-probabilities kept per position.
    threads : int
        Torch intra-op threads for this task.
    attempt : int
        1 for the first attempt, then 2, ...
    members : tuple of Task
        A batch: same-shape runs trained together (``train.batched``); ``node_id`` is then
        the batch's own id and the outcome carries one outcome per member.
    """

    node_id: str
    kind: str
    config: RunConfig
    study_dir: str
    workdir: str
    cache_path: str | None = None
    cache_tokens: int = 0
    top_k: int = 0
    threads: int = 1
    attempt: int = 1
    members: tuple[Task, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a task produced.

    Parameters
    ----------
    node_id : str
        The task's id.
    ok : bool
        Finished with a result.
    reason : str or None
        Why it failed (one line).
    retry : bool
        A failure worth retrying (crash, transient error); False for a diverged (NaN) run,
        which would diverge again.
    fatal : bool
        Stop the study (bad input, disk full): retrying cannot help until the user acts.
    result : RunResult or None
        A finished run's result.
    cache : CacheInfo or None
        A finished cache.
    trained : bool
        Training (or cache building) ran in this attempt; False when ``result.json`` existed.
    damaged : str or None
        A file this task needed that is damaged or missing (a teacher's checkpoint, a logit
        cache), relative to the study directory; it was moved aside and the driver rebuilds
        the run or cache that wrote it, then retries this task (the attempt does not count).
    members : tuple of Outcome
        For a batch task: one outcome per member run, in the task's order.
    """

    node_id: str
    ok: bool
    reason: str | None = None
    retry: bool = False
    fatal: bool = False
    result: RunResult | None = None
    cache: CacheInfo | None = None
    trained: bool = True
    damaged: str | None = None
    members: tuple[Outcome, ...] = ()


#: The run function's signature: task and a progress callback in, outcome out.
RunFn = Callable[[Task, Callable[[ProgressEvent], None]], Outcome]


def write_json_atomic(path: Path, document: Any) -> None:
    """A study's JSON file (indent 1, sorted keys, no NaN), written atomically (:mod:`..atomic`)."""
    atomic_write_json(path, document, indent=1, sort_keys=True, allow_nan=False)


def _result_to_json(result: RunResult) -> dict[str, Any]:
    doc = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    doc["flops"] = result.flops.as_dict()
    doc["curve"] = [list(p) for p in result.curve]
    doc["loss"] = result.loss if result.loss is not None and math.isfinite(result.loss) else None
    doc["curve"] = [[v if not isinstance(v, float) or math.isfinite(v) else None for v in p]
                    for p in doc["curve"]]  # fmt: skip
    return doc


def read_result(path: Path) -> RunResult | None:
    """Read a ``result.json`` written by :func:`run_task`; None if absent or unreadable."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        flops = {k: v for k, v in doc["flops"].items() if k != "total"}
        doc["flops"] = FlopsLedger(**flops)
        doc["curve"] = [tuple(p) for p in doc["curve"]]
        return RunResult(**doc)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cache_info_path(task: Task) -> Path:
    return Path(task.study_dir) / f"{task.cache_path}.json"


def run_task(task: Task, progress: Callable[[ProgressEvent], None]) -> Outcome:
    """Do one task with :func:`distillscale.train.train_run` / ``build_logit_cache``.

    Parameters
    ----------
    task : Task
        What to do.
    progress : callable
        Receives a :class:`~distillscale.train.ProgressEvent` after every optimiser step.

    Returns
    -------
    Outcome
        ``ok`` with the result, or the failure's reason and whether to retry or stop; run
        failures never raise.
    """
    return run_task_with(task, progress, trainer=None, cache_builder=None)


def run_task_with(
    task: Task,
    progress: Callable[[ProgressEvent], None],
    *,
    trainer: Callable[..., RunResult] | None,
    cache_builder: Callable[..., CacheInfo] | None,
) -> Outcome:
    """:func:`run_task` with the training and cache functions given (None: the real ones).

    ``trainer(config, workdir, progress=...) -> RunResult`` and
    ``cache_builder(teacher_ref, data, tokens=, seq_len=, top_k=, path=, batch_size=, device=)``
    have the
    signatures of :func:`distillscale.train.train_run` and ``build_logit_cache``; tests pass
    fast stand-ins (with :func:`functools.partial`) to exercise scheduling and crash safety.
    """
    if task.members:
        return _train_batch(task, progress, trainer, cache_builder)
    started = time.time()
    try:
        if task.kind == "cache":
            return _build_cache(task, cache_builder)
        return _train(task, progress, trainer)
    except DamagedFile as exc:
        return _damaged(task, exc, started)
    except InputError as exc:  # worded as the spec keys that set what it names
        reason = study_message(exc, task.config)
        return Outcome(node_id=task.node_id, ok=False, reason=reason, fatal=True)
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            where = exc.filename or Path(task.study_dir) / task.workdir
            return Outcome(
                node_id=task.node_id, ok=False, reason=disk_full_message(where), fatal=True
            )
        if exc.errno == errno.EROFS:
            reason = (
                f"{exc.strerror or exc} writing {exc.filename or task.workdir}: move the study "
                "to a writable file system and rerun the same command to resume"
            )
            return Outcome(node_id=task.node_id, ok=False, reason=reason, fatal=True)
        return _crash(task, exc)
    except Exception as exc:  # noqa: BLE001  a crash of this attempt: the driver retries
        return _crash(task, exc)


def _damaged(task: Task, exc: DamagedFile, started: float) -> Outcome:
    """A file the task needs is damaged: move it aside and name it for the driver to rebuild.

    A file written after this task started (``started``, seconds since the epoch) is not the
    one it read: another task reported the damage and the file was rebuilt meanwhile; it stays.
    """
    from distillscale.train.integrity import quarantine

    study = Path(task.study_dir).resolve()
    path = (study / exc.path).resolve()
    try:
        rebuilt = path.stat().st_mtime > started
    except OSError:
        rebuilt = False
    if not rebuilt:
        quarantine(path, str(exc))
    try:
        rel = path.relative_to(study).as_posix()
    except ValueError:  # outside the study: nothing in it can rebuild the file
        return Outcome(node_id=task.node_id, ok=False, reason=str(exc), fatal=True)
    reason = format_failure(
        FailureKind.waiting, f"{rel} is damaged or missing and is being rebuilt ({exc})"
    )
    return Outcome(node_id=task.node_id, ok=False, reason=reason, retry=True, damaged=rel)


def _crash(task: Task, exc: BaseException) -> Outcome:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {Path(where[0].filename).name}:{where[0].lineno}" if where else ""
    log.debug("task %s failed", task.node_id, exc_info=exc)
    return Outcome(
        node_id=task.node_id, ok=False, reason=f"{type(exc).__name__}: {exc}{at}", retry=True
    )


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _train(
    task: Task,
    progress: Callable[[ProgressEvent], None],
    trainer: Callable[..., RunResult] | None,
) -> Outcome:
    study = Path(task.study_dir)
    workdir = study / task.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    done = read_result(workdir / RESULT_FILE)
    if done is not None:
        return _from_result(task, done, trained=False)
    if trainer is None:
        from distillscale.train import train_run

        trainer = train_run
        _set_threads(task.threads)
    with open(workdir / ATTEMPTS_FILE, "a", encoding="utf-8") as fh:
        fh.write(f"start attempt={task.attempt} pid={os.getpid()} time={time.time():.3f}\n")
    os.chdir(study)  # configs name teacher checkpoints and caches relative to the study
    result = trainer(task.config, workdir, progress=progress)
    if result.status == "done" and result.loss is not None and math.isfinite(result.loss):
        write_json_atomic(workdir / RESULT_FILE, _result_to_json(result))
    return _from_result(task, result, trained=True)


def _train_batch(
    task: Task,
    progress: Callable[[ProgressEvent], None],
    trainer: Callable[..., RunResult] | None,
    cache_builder: Callable[..., CacheInfo] | None,
) -> Outcome:
    """Train a batch task's member runs together; one outcome per member.

    Members already finished (``result.json``) return their result; the others train in one
    :func:`distillscale.train.batched.train_batched` call, each with its own workdir,
    ``attempts.log`` line, ``result.json`` and outcome. When the batch cannot start (a
    damaged or missing teacher file, bad input), or with a stand-in ``trainer`` (tests), each
    member runs alone through :func:`run_task_with`, so its failure stays its own; training
    already done stays in the checkpoints it resumes from. A crash or a signal during batched
    training is every member's (each resumes from its own checkpoint).
    """
    study = Path(task.study_dir)
    outcomes: dict[str, Outcome] = {}
    todo: list[Task] = []
    for member in task.members:
        done = read_result(study / member.workdir / RESULT_FILE)
        if done is not None:
            outcomes[member.node_id] = _from_result(member, done, trained=False)
        else:
            todo.append(member)
    if len(todo) > 1 and trainer is None:
        try:
            outcomes.update(_train_together(todo, study, progress))
            todo = []
        except (DamagedFile, InputError) as exc:  # raised before anything trained
            log.info("batch %s: %s; training its runs one by one", task.node_id, exc)
        except OSError as exc:
            if exc.errno not in DISK_FULL_ERRNOS and exc.errno != errno.EROFS:
                return _for_all(task, _crash(task, exc))
            log.info("batch %s: %s; training its runs one by one", task.node_id, exc)
        except Exception as exc:  # noqa: BLE001  a crash: every member is retried
            return _for_all(task, _crash(task, exc))
    for member in todo:
        outcomes[member.node_id] = run_task_with(
            member, progress, trainer=trainer, cache_builder=cache_builder
        )
    members = tuple(outcomes[m.node_id] for m in task.members)
    return Outcome(node_id=task.node_id, ok=all(o.ok for o in members), members=members)


def _for_all(task: Task, outcome: Outcome) -> Outcome:
    """A batch task's outcome that is the same for every member (a crash)."""
    members = tuple(dataclasses.replace(outcome, node_id=m.node_id) for m in task.members)
    return dataclasses.replace(outcome, members=members)


def _train_together(
    tasks: list[Task], study: Path, progress: Callable[[ProgressEvent], None]
) -> dict[str, Outcome]:
    from distillscale.train.batched import train_batched

    _set_threads(tasks[0].threads)
    workdirs = [study / t.workdir for t in tasks]

    def log_attempts() -> None:  # once the batch is set up: a refused batch logs nothing
        for t, workdir in zip(tasks, workdirs, strict=True):
            with open(workdir / ATTEMPTS_FILE, "a", encoding="utf-8") as fh:
                fh.write(
                    f"start attempt={t.attempt} pid={os.getpid()} time={time.time():.3f} "
                    f"batch={len(tasks)}\n"
                )

    os.chdir(study)
    results = train_batched(
        [t.config for t in tasks], workdirs, progress=progress, on_start=log_attempts
    )
    outcomes = {}
    for t, workdir, result in zip(tasks, workdirs, results, strict=True):
        if result.status == "done" and result.loss is not None and math.isfinite(result.loss):
            write_json_atomic(workdir / RESULT_FILE, _result_to_json(result))
        outcomes[t.node_id] = _from_result(t, result, trained=True)
    return outcomes


def _from_result(task: Task, result: RunResult, *, trained: bool) -> Outcome:
    failure = result_failure(result)
    if failure is not None:
        reason, fatal = failure
        return Outcome(node_id=task.node_id, ok=False, reason=reason, fatal=fatal, retry=False)
    return Outcome(node_id=task.node_id, ok=True, result=result, trained=trained)


def _build_cache(task: Task, builder: Callable[..., CacheInfo] | None) -> Outcome:
    study = Path(task.study_dir)
    info_path = _cache_info_path(task)
    if info_path.exists():
        try:
            info = CacheInfo(**json.loads(info_path.read_text(encoding="utf-8")))
            return Outcome(node_id=task.node_id, ok=True, cache=info, trained=False)
        except (OSError, ValueError, TypeError):
            info_path.unlink(missing_ok=True)
    if builder is None:
        from distillscale.train import build_logit_cache

        builder = build_logit_cache
        _set_threads(task.threads)
    (study / "caches").mkdir(parents=True, exist_ok=True)
    os.chdir(study)
    assert task.cache_path is not None
    from distillscale.runs.config import TeacherRef
    from distillscale.study.graph import TEACHER_CHECKPOINT

    teacher = task.config
    ref = TeacherRef(
        checkpoint=f"runs/{teacher.run_id()}/{TEACHER_CHECKPOINT}"
        if teacher.pretrained is None
        else teacher.pretrained.checkpoint,  # a Hugging Face teacher stays in its directory
        shape=teacher.shape,
        run_id=teacher.run_id(),
    )
    info = builder(
        ref,
        teacher.data,
        tokens=task.cache_tokens,
        seq_len=teacher.shape.seq_len,
        top_k=task.top_k,
        path=study / task.cache_path,
        batch_size=teacher.batch_size,
        device=teacher.device,
    )
    write_json_atomic(info_path, dataclasses.asdict(info))
    return Outcome(node_id=task.node_id, ok=True, cache=info, trained=True)


def measure_throughput(
    shape: TransformerShape, batch_size: int, threads: int, steps: int = 2
) -> float:
    """Training FLOPs per second of one optimiser step of ``shape`` on this machine's CPU.

    Parameters
    ----------
    shape : TransformerShape
        The model.
    batch_size : int
        Sequences per step.
    threads : int
        Torch threads (as each worker uses).
    steps : int
        Timed steps after one warm-up step.

    Returns
    -------
    float
        Training FLOPs per second (operations per second).
    """
    torch = require("torch", "train", "timing training steps for the wall-time estimate")

    from distillscale.train.model import GPT

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT(shape)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, shape.vocab_size, (batch_size, shape.seq_len))  # (B, T)
    seconds = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        logits = model(x)  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), x.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:
            seconds.append(time.perf_counter() - t0)
    step_flops = 3.0 * forward_flops_per_token(shape) * batch_size * shape.seq_len
    return step_flops / min(seconds)
