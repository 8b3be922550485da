"""Run a study: expand, register, schedule, record, and finish with fits and a plan.

The driver is the only writer of the run store. For each task whose dependencies are done it
claims the run in the store (an atomic lease, so two drivers never train the same run), hands it
to the executor, renews the lease while the task runs, and records the outcome. A crash of a
worker is a failed attempt, retried up to ``executor.max_attempts``; a diverged run (NaN loss)
fails at once. A crash of the driver leaves claims that expire after ``executor.lease_seconds``;
the next ``distillscale run`` of the same spec skips what is done and resumes the rest from the
workdirs' checkpoints.

Before anything runs, the driver makes its study directory the one the store records for the
study (:func:`claim_study_dir`: another driver's directory is refused), reuses finished logit
caches that cover enough tokens (:func:`finished_caches`), and records the graph's runs as the
study's current ones (the others registered under its name are stale).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import socket
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from distillscale import interrupts
from distillscale.atomic import atomic_open, atomic_write
from distillscale.errors import DISK_FULL_ERRNOS, InputError, disk_full_message
from distillscale.flops import FlopsLedger
from distillscale.runs import (
    CURVE_COLUMNS,
    STUDY_RUN_COLUMNS,
    FailureKind,
    format_failure,
    is_cut_short,
    parse_failure,
    phase_ledger,
)
from distillscale.runs.config import batch_key, snapshot_name
from distillscale.study.executors import Executor, Finished, Progress
from distillscale.study.graph import (
    TEACHER_CHECKPOINT,
    CacheNode,
    RunNode,
    StudyGraph,
    build_graph,
    study_fingerprint,
)
from distillscale.study.progress import StudyProgress, format_flops
from distillscale.study.record import claim_limit, end_attempt, run_spec_record
from distillscale.study.spec import StudySpec, load_spec
from distillscale.study.store import Store, open_store
from distillscale.study.store.records import CurveRow, RunOutcome, RunRecord, RunSpecRecord
from distillscale.study.store.url import redact_document, redact_text
from distillscale.study.worker import (
    RESULT_FILE,
    Outcome,
    RunFn,
    Task,
    run_task,
    write_json_atomic,
)

__all__ = [
    "StudyResult",
    "claim_study_dir",
    "finished_caches",
    "open_study_store",
    "prepare_study",
    "run_study",
    "write_tables",
]

log = logging.getLogger(__name__)

#: Columns of ``runs.csv`` (one list, in :mod:`distillscale.runs.columns`).
RUN_COLUMNS = STUDY_RUN_COLUMNS
#: A dependency may be rebuilt this many times per session before its damage is fatal.
_REBUILDS = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyResult:
    """What :func:`run_study` did.

    Parameters
    ----------
    study_dir : Path
        The study directory.
    runs : int
        Training runs in the study (teachers, students, baselines).
    done, failed : int
        Runs finished, runs failed for good (caches excluded).
    trained : int
        Tasks that trained (or built a cache) in this session.
    failures : dict
        Run label -> failure reason.
    ledger : FlopsLedger
        FLOPs of the finished runs and caches by phase (operations).
    planned : FlopsLedger
        FLOPs of the whole study by phase (operations).
    wall_seconds : float
        Wall-clock seconds of this session.
    """

    study_dir: Path
    runs: int
    done: int
    failed: int
    trained: int
    failures: dict[str, str] = field(default_factory=dict)
    ledger: FlopsLedger = FlopsLedger()
    planned: FlopsLedger = FlopsLedger()
    wall_seconds: float = 0.0


def _out_subject(out: str | Path) -> tuple[str, str, str]:
    """An error's subject: :func:`run_study`'s ``out`` (the command line's ``--out``)."""
    return ("out", f"out={str(out)!r}", str(out))


def _resolve(spec: StudySpec | str | Path, out: str | Path) -> tuple[StudySpec, Path, str | None]:
    """Load the spec and resolve the study directory; write nothing."""
    text = None
    if not isinstance(spec, StudySpec):
        path = Path(spec)
        spec = load_spec(path)
        text = path.read_text(encoding="utf-8")
    study_dir = Path(out).expanduser().resolve()
    if study_dir.exists() and not study_dir.is_dir():
        raise InputError(
            ": exists and is not a directory; give a directory path", subject=_out_subject(out)
        )
    _check_study_dir(study_dir, out)
    return spec, study_dir, text


def _write_study_dir(spec: StudySpec, study_dir: Path, text: str | None, out: str | Path) -> None:
    """Create the study directory and write ``study.yaml`` and ``spec.json``."""
    try:
        (study_dir / "runs").mkdir(parents=True, exist_ok=True)
        (study_dir / "caches").mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(
            f": cannot create the study directory: {exc}", subject=_out_subject(out)
        ) from None
    # records for people and the report, never read back (a rerun reads the user's spec): the
    # store password is redacted in both, so the real URL lives only where the user put it
    normal = redact_document(spec.model_dump(mode="json"), spec.store)
    text = redact_text(text, spec.store) if text is not None else None
    if text is None:
        text = yaml.safe_dump(normal, sort_keys=False)
    try:  # atomic, like every file of the study: old or new, never half
        atomic_write(study_dir / "study.yaml", text)
    except OSError as exc:  # name the file (a full disk's message needs it)
        raise OSError(exc.errno, exc.strerror, str(study_dir / "study.yaml")) from exc
    write_json_atomic(study_dir / "spec.json", normal)


def prepare_study(spec: StudySpec | str | Path, out: str | Path) -> tuple[StudySpec, Path]:
    """Load the spec, create the study directory and write ``study.yaml`` and ``spec.json``.

    Both files have the store password redacted (``postgresql://user:***@host/db``); nothing
    reads them back to run the study, so a rerun takes the store URL from the spec it is given.

    Raises
    ------
    InputError
        An invalid spec, or an output path that exists and is not a directory.
    """
    spec, study_dir, text = _resolve(spec, out)
    _write_study_dir(spec, study_dir, text, out)
    return spec, study_dir


#: What a study writes in its directory; a folder holding anything else is not a study's.
STUDY_ENTRIES = frozenset(
    {
        "study.yaml",
        "spec.json",
        "runs",
        "caches",
        "store.sqlite",
        "store.sqlite-wal",
        "store.sqlite-shm",
        "store.sqlite-journal",
        "runs.csv",
        "curves.csv",
        "ledger.json",
        "fits",
        "plan.json",
        "report",
    }
)


def _check_study_dir(study_dir: Path, out: str | Path) -> None:
    """Refuse an existing folder that is neither empty nor a study directory.

    A study directory holds ``spec.json`` or ``study.yaml`` (written first), or only entries
    of :data:`STUDY_ENTRIES` and the hidden ``*.tmp`` files of interrupted atomic writes.
    Anything else (``--out .`` in a project, ``--out ~``) would get runs, caches and a store
    written among the user's files.
    """
    if not study_dir.is_dir():
        return
    names = {p.name for p in study_dir.iterdir()}
    if names & {"spec.json", "study.yaml"}:
        return
    foreign = sorted(n for n in names if n not in STUDY_ENTRIES and not _temporary(n))
    if foreign:
        shown = ", ".join(repr(n) for n in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise InputError(
            f": is not empty and not a study directory (it holds {shown})",
            subject=_out_subject(out),
            hints=(
                (
                    "out",
                    "give a new or empty directory, or the out= of an earlier run of this study",
                ),
            ),
        )


def _temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def open_study_store(spec: StudySpec, study_dir: Path) -> Store:
    """Open the spec's store, by default ``DIR/store.sqlite``."""
    url = spec.store or f"sqlite:///{study_dir / 'store.sqlite'}"
    return open_store(url)


def _same_dir(a: str, b: str) -> bool:
    try:
        return a == b or os.path.samefile(a, b)
    except OSError:
        return False


def claim_study_dir(store: Store, spec: StudySpec, study_dir: Path) -> None:
    """Make ``study_dir`` the one directory of this study in the store, or refuse.

    Checkpoints and logit caches live in the study directory and students find them there, so
    every driver of a study must use the same directory. The store records the first driver's
    (:meth:`Store.record_study_dir`). Another directory takes the record over when the store is
    the study's own default ``store.sqlite`` (the directory was moved or copied with its store),
    or when the recorded directory no longer exists on the machine that recorded it (moved).

    Raises
    ------
    InputError
        Naming both directories, when another directory of this study may still be in use.
    """
    here, host = str(study_dir), socket.gethostname()
    recorded, recorded_host = store.record_study_dir(spec.name, here, host)
    if _same_dir(recorded, here):
        return
    gone = recorded_host == host and not Path(recorded).is_dir()
    if spec.store is None or gone:
        store.move_study_dir(spec.name, here, host)
        log.info("study %s: directory %s recorded in place of %s", spec.name, here, recorded)
        return
    raise InputError(
        f": store {store.url} already runs study {spec.name!r} in {recorded} "
        f"(recorded from {recorded_host}), where its checkpoints and logit caches live and "
        "where this driver's students could not find them",
        subject=_out_subject(here),
        hints=(
            (
                "out",
                f"run every driver of the study with out={recorded!r} (a shared file system, "
                "the same path on every machine), or give this study another name to run it "
                "apart",
            ),
        ),
    )


def finished_caches(store: Store, study_dir: Path) -> dict[tuple[str, int], list[tuple[str, int]]]:
    """Finished logit caches whose files are in ``study_dir``, for :func:`build_graph`'s reuse.

    Returns
    -------
    dict
        (teacher run id, top_k) -> [(cache id, tokens covered), ...].
    """
    out: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for record in store.list_runs(status="done"):
        if record.kind != "cache" or record.teacher_run_id is None:
            continue
        try:
            doc = json.loads(record.config)
            key, tokens = (record.teacher_run_id, int(doc["top_k"])), int(doc["tokens"])
        except (ValueError, KeyError, TypeError):
            continue
        if (study_dir / "caches" / f"{record.run_id}.logits.json").is_file():
            out.setdefault(key, []).append((record.run_id, tokens))
    return out


def _register(store: Store, spec: StudySpec, graph: StudyGraph) -> None:
    records = []
    for node in graph.nodes():
        if isinstance(node, RunNode):
            record = run_spec_record(
                node.config,
                params=node.params,
                tokens=node.tokens,
                flops=node.ledger,
                teacher_run_id=node.teacher_run,
                study=spec.name,
            )
        else:
            config = json.dumps(
                {"teacher": node.teacher_run, "tokens": node.tokens, "top_k": node.top_k},
                sort_keys=True,
            )
            record = RunSpecRecord(
                run_id=node.cache_id,
                kind="cache",
                config=config,
                study=spec.name,
                tokens=node.tokens,
                flops=node.ledger,
                teacher_run_id=node.teacher_run,
            )
        records.append(record)
    store.register_many(records)


class _Scheduler:
    """The driver loop (see module docstring)."""

    def __init__(
        self,
        *,
        spec: StudySpec,
        graph: StudyGraph,
        study_dir: Path,
        store: Store,
        executor: Executor,
        progress: StudyProgress,
    ) -> None:
        self.spec = spec
        self.graph = graph
        self.study_dir = study_dir
        self.store = store
        self.executor = executor
        self.progress = progress
        self.nodes = graph.by_id()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = spec.executor.lease_seconds
        self.done: set[str] = set()
        self.failed: dict[str, str] = {}
        self.running: dict[str, float] = {}  # node id -> last heartbeat (monotonic)
        self.curves: dict[str, list[CurveRow]] = {}
        self.trained = 0
        self.fatal: str | None = None
        self.block_claims: dict[str, int] = {}  # node id -> store attempts that were blocks
        self.rebuilt: dict[str, int] = {}  # node id -> rebuilds of a damaged file, this session
        self.rebuilt_at: dict[str, float] = {}  # node id -> when its rebuild finished (monotonic)
        self.submitted: dict[str, float] = {}  # node id -> when it was last submitted
        self.artifacts = {self._artifact(n): n for n in self.nodes}  # file -> node that writes it
        self.batches: dict[str, tuple[str, ...]] = {}  # batch task id -> its member run ids
        for node_id, node in self.nodes.items():  # a trunk's snapshots, read by its branches
            if isinstance(node, RunNode):
                for step in node.config.snapshot_steps:
                    self.artifacts[f"runs/{node_id}/{snapshot_name(step)}"] = node_id

    def _artifact(self, node_id: str) -> str:
        """The file a node writes that others read, relative to the study directory."""
        node = self.nodes[node_id]
        if isinstance(node, CacheNode):
            return Path(node.path).as_posix()
        return f"runs/{node_id}/{TEACHER_CHECKPOINT}"

    def _done_marker(self, node_id: str) -> Path:
        """The file whose presence makes a worker return a node's result without work."""
        if isinstance(self.nodes[node_id], CacheNode):
            return self.study_dir / f"{self._artifact(node_id)}.json"
        return self.study_dir / "runs" / node_id / RESULT_FILE

    def label(self, node_id: str) -> str:
        node = self.nodes[node_id]
        if isinstance(node, CacheNode):
            teacher = self.nodes[node.teacher_run]
            return f"cache<{teacher.label if isinstance(teacher, RunNode) else node.teacher_run}"
        return f"{node.kind} {node.label}"

    def initial_state(self) -> None:
        for node_id, node in self.nodes.items():
            record: RunRecord | None = self.store.get(node_id)
            if record is None:
                continue
            if record.status == "done":
                self.done.add(node_id)
                self.progress.skipped(self.label(node_id), node.ledger.total)
            elif record.status == "failed" and not self._retryable(record):
                self.failed[node_id] = record.failure_reason or "failed"
                self.progress.finished(
                    node_id, ok=False, detail=self.failed[node_id], label=self.label(node_id)
                )

    def _retryable(self, record: RunRecord) -> bool:
        kind = parse_failure(record.failure_reason)[0]
        if is_cut_short(record.failure_reason) or kind is FailureKind.not_run:
            return True
        return record.attempts < self.spec.executor.max_attempts and kind is not (
            FailureKind.diverged
        )

    def _claim(self, node_id: str) -> bool:
        """Claim a run; an attempt cut short by a stopped or killed driver is not counted.

        Nor is a claim that only recorded the run as blocked (:meth:`_block`): its first real
        attempt may always be claimed, and this session's retries do not count the blocks.
        """
        record = self.store.get(node_id)
        reason = (record.failure_reason or "") if record is not None else ""
        if record is not None and parse_failure(reason)[0] is FailureKind.not_run:
            self.block_claims[node_id] = record.attempts
        limit = self.spec.executor.max_attempts + self.block_claims.get(node_id, 0)
        limit = claim_limit(record, limit)
        return self.store.claim(node_id, self.worker_id, self.lease, max_attempts=limit)

    def _attempts(self, record: RunRecord | None, node_id: str) -> int:
        """Real attempts of a run: the store's count less this session's known blocks."""
        if record is None:
            return self.spec.executor.max_attempts
        return record.attempts - self.block_claims.get(node_id, 0)

    def _block(self, node_id: str, dep: str) -> None:
        """Record a run whose dependency ``dep`` failed as failed (``not run: ...``).

        The store only lets a claim holder fail a run, so the run is claimed and failed at
        once. A run already recorded with the same reason is left alone, so reruns of a study
        whose dependency is still failed change nothing in the store.
        """
        reason = format_failure(FailureKind.not_run, f"its dependency {self.label(dep)} failed")
        self.failed[node_id] = reason
        self.progress.finished(node_id, ok=False, detail=reason, label=self.label(node_id))
        record = self.store.get(node_id)
        if record is None or record.status == "done":
            return
        if record.status == "failed" and record.failure_reason == reason:
            return
        limit = max(self.spec.executor.max_attempts, record.attempts + 1)
        if self.store.claim(node_id, self.worker_id, self.lease, max_attempts=limit):
            self.store.fail(node_id, self.worker_id, reason)
        else:  # held by another driver or out of attempts: leave its record as it is
            log.debug("could not record %s as blocked", node_id)

    def blocked(self, node_id: str) -> str | None:
        """The failed dependency that blocks a node, if any."""
        node = self.nodes[node_id]
        for dep in node.depends:
            if dep in self.failed:
                return dep
            why = self.blocked(dep)
            if why is not None:
                return why
        return None

    def ready(self) -> list[str]:
        """Runnable nodes: teachers and caches first (they unblock students), largest first."""
        out = []
        for node_id, node in self.nodes.items():
            if node_id in self.done or node_id in self.failed or node_id in self.running:
                continue
            if all(dep in self.done for dep in node.depends):
                out.append(node_id)
        return sorted(out, key=self._priority)

    def _priority(self, node_id: str) -> tuple[int, float]:
        node = self.nodes[node_id]
        upstream = isinstance(node, CacheNode) or node.kind == "teacher"
        return (0 if upstream else 1, -node.ledger.total)

    def loop(self) -> None:
        """Schedule until every node is settled, or a fatal error once nothing runs.

        A full disk under the driver's own writes (store, tables) is fatal like a worker's:
        the running tasks finish, then the study stops.
        """
        held_since: dict[str, float] = {}
        while True:
            interrupts.check()  # SIGINT/SIGTERM: stop here, before claiming more runs
            try:
                if self._turn(held_since):
                    break
            except Exception as exc:
                path = disk_full_path(exc, self.store)
                if path is None:
                    raise
                self.fatal = self.fatal or disk_full_message(path)
                if not self.running:
                    break

    def _turn(self, held_since: dict[str, float]) -> bool:
        """One pass of the loop: claim, submit, poll, record; True when the loop is over.

        Once the study is stopping (``fatal``) it only polls: no store write comes before
        the running tasks' outcomes, so a store on a full disk cannot stall the loop.
        """
        for node_id in list(self.nodes) if not self.fatal else []:
            dep = self.blocked(node_id) if node_id not in self.failed else None
            if dep is not None and node_id not in self.done:
                self._block(node_id, dep)
        ready = self.ready()
        for node_id in ready:
            if self.executor.free <= 0 or self.fatal:
                break
            if node_id in self.running:  # claimed into a batch this turn
                continue
            if self._claim(node_id):
                held_since.pop(node_id, None)
                self._submit_batch(self._batch_for(node_id, ready, held_since))
            else:
                held_since.setdefault(node_id, time.monotonic())
        if not self.running:
            waiting = [n for n in ready if n in held_since]
            if not waiting or self.fatal:
                return True
            # runs claimed by another (possibly dead) driver: wait for their lease to end
            time.sleep(min(1.0, self.lease / 4))
            self._refresh_held(waiting)
            return False
        for event in self.executor.poll(0.5):
            if isinstance(event, Progress):
                self._on_progress(event)
            elif isinstance(event, Finished):
                self._on_finished(event.outcome)
        self._heartbeat()
        return bool(self.fatal and not self.running)

    def _refresh_held(self, waiting: list[str]) -> None:
        """Settle runs another (possibly dead) driver held: done, or out of attempts."""
        for node_id in waiting:
            record = self.store.get(node_id)
            if record is None:
                continue
            if record.status == "done":
                self.done.add(node_id)
                self.progress.skipped(self.label(node_id), self.nodes[node_id].ledger.total)
            elif record.status == "failed" and not self._retryable(record):
                self.failed[node_id] = record.failure_reason or "failed"
                self.progress.finished(
                    node_id, ok=False, detail=self.failed[node_id], label=self.label(node_id)
                )

    def _batch_for(self, first: str, ready: list[str], held_since: dict[str, float]) -> list[str]:
        """``first`` (claimed) and up to ``batch_runs - 1`` more claimed ready runs.

        They share ``first``'s :func:`~distillscale.runs.config.batch_key` (shape, batch size,
        data), so one worker trains them together.
        """
        node = self.nodes[first]
        limit = self.spec.executor.batch_runs
        key = batch_key(node.config) if isinstance(node, RunNode) and limit > 1 else None
        group = [first]
        if key is None:
            return group
        for other in ready:
            if len(group) >= limit:
                break
            peer = self.nodes[other]
            if other == first or other in self.running or not isinstance(peer, RunNode):
                continue
            if batch_key(peer.config) != key:
                continue
            if self._claim(other):
                held_since.pop(other, None)
                group.append(other)
            else:
                held_since.setdefault(other, time.monotonic())
        return group

    def _submit_batch(self, node_ids: list[str]) -> None:
        """Submit one run or cache, or several runs as one batch task (``train.batched``)."""
        if len(node_ids) == 1:
            self._submit(node_ids[0])
            return
        members = tuple(self._task(n) for n in node_ids)
        batch_id = f"batch:{node_ids[0]}+{len(node_ids) - 1}"
        self.batches[batch_id] = tuple(node_ids)
        first = members[0]
        self.executor.submit(
            Task(
                node_id=batch_id,
                kind="batch",
                config=first.config,
                study_dir=first.study_dir,
                workdir=first.workdir,
                threads=first.threads,
                attempt=first.attempt,
                members=members,
            )
        )
        now = time.monotonic()
        for task in members:
            node = self.nodes[task.node_id]
            self.running[task.node_id] = self.submitted[task.node_id] = now
            label = f"{self.label(task.node_id)} (batch of {len(members)})"
            self.progress.started(task.node_id, label, node.ledger.total, task.attempt)

    def _submit(self, node_id: str) -> None:
        task = self._task(node_id)
        self.executor.submit(task)
        node = self.nodes[node_id]
        self.running[node_id] = self.submitted[node_id] = time.monotonic()
        self.progress.started(node_id, self.label(node_id), node.ledger.total, task.attempt)

    def _task(self, node_id: str) -> Task:
        node = self.nodes[node_id]
        record = self.store.get(node_id)
        attempt = self._attempts(record, node_id) if record is not None else 1
        if isinstance(node, CacheNode):
            teacher = self.nodes[node.teacher_run]
            assert isinstance(teacher, RunNode)
            task = Task(
                node_id=node_id,
                kind="cache",
                config=teacher.config,
                study_dir=str(self.study_dir),
                workdir="caches",
                cache_path=node.path,
                cache_tokens=node.tokens,
                top_k=node.top_k,
                threads=self.spec.executor.threads,
                attempt=attempt,
            )
        else:
            task = Task(
                node_id=node_id,
                kind=node.kind,
                config=node.config,
                study_dir=str(self.study_dir),
                workdir=f"runs/{node_id}",
                threads=self.spec.executor.threads,
                attempt=attempt,
            )
        return task

    def _on_progress(self, event: Progress) -> None:
        e = event.event
        members = self.batches.get(event.node_id)
        if members is None:
            self.progress.step(event.node_id, e)
        elif e.run_id in members:
            self.progress.step(e.run_id, e)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        for node_id, last in list(self.running.items()):
            if now - last >= self.lease / 3:
                self.store.heartbeat(node_id, self.worker_id, self.lease)
                self.running[node_id] = now

    def _on_finished(self, outcome: Outcome) -> None:
        members = self.batches.pop(outcome.node_id, None)
        if members is not None:  # a batch: each member's outcome, or the batch's for all
            by_id = {m.node_id: m for m in outcome.members}
            for member in members:
                own = by_id.get(member) or dataclasses.replace(outcome, node_id=member, members=())
                self._on_finished(own)
            return
        node_id = outcome.node_id
        self.running.pop(node_id, None)
        node = self.nodes[node_id]
        if outcome.trained:
            self.trained += 1
        if outcome.ok:
            curve = [_curve_row(p) for p in outcome.result.curve] if outcome.result else []
            # result and curve in one transaction: a driver killed here leaves neither
            self.store.complete(node_id, self.worker_id, self._run_outcome(node, outcome), curve)
            self.done.add(node_id)
            if node_id in self.rebuilt:
                self.rebuilt_at[node_id] = time.monotonic()
            loss = outcome.result.loss if outcome.result is not None else None
            detail = f"loss {loss:.4f} nats" if loss is not None else "cached"
            self.progress.finished(node_id, ok=True, detail=detail)
            write_tables(self.store, self.spec, self.graph, self.study_dir, curves=False)
            return
        reason = outcome.reason or "failed"
        failure = parse_failure(reason)[0]
        if failure is FailureKind.interrupted:  # a signal stopped the worker: not counted
            end_attempt(self.store, node_id, self.worker_id, reason)
            self.progress.finished(node_id, ok=False, detail=reason, final=False)
            return
        if outcome.fatal and failure is FailureKind.disk_full:
            self.fatal = reason  # before the store write, which may find the disk full too
        if outcome.damaged is not None:
            reason = self._rebuild(node_id, outcome.damaged, reason)
            if parse_failure(reason)[0] is FailureKind.waiting:
                self.store.fail(node_id, self.worker_id, reason)
                self.progress.finished(node_id, ok=False, detail=reason, final=False)
                return
            outcome = Outcome(node_id=node_id, ok=False, reason=reason, fatal=True)
        failure = parse_failure(reason)[0]
        if not outcome.retry and not outcome.fatal and failure is not FailureKind.diverged:
            reason = format_failure(FailureKind.diverged, reason)
        self.store.fail(node_id, self.worker_id, reason)
        attempts = self._attempts(self.store.get(node_id), node_id)
        final = outcome.fatal or not outcome.retry or attempts >= self.spec.executor.max_attempts
        if outcome.fatal:
            disk_full = parse_failure(reason)[0] is FailureKind.disk_full
            self.fatal = reason if disk_full else f"{self.label(node_id)}: {reason}"
        if final:
            self.failed[node_id] = reason
        self.progress.finished(node_id, ok=False, detail=reason, final=final)

    def _rebuild(self, node_id: str, damaged: str, reason: str) -> str:
        """Reopen the node that wrote the damaged file ``damaged``; the waiting task's reason.

        The file's writer (a teacher, or a cache) goes back to pending and its done marker is
        removed, so it is retrained or rebuilt; ``node_id`` waits for it without losing an
        attempt. A file nobody in the study writes, or one damaged again after this session
        rebuilt it, is fatal: the returned reason then does not start with ``waiting:``.
        """
        writer = self.artifacts.get(damaged)
        kind, detail = parse_failure(reason)
        cause = detail if kind is FailureKind.waiting else reason
        if writer is None:
            return f"{cause}; it is not a file this study writes"
        if self.rebuilt_at.get(writer, -math.inf) > self.submitted.get(node_id, math.inf):
            return reason  # it read the file before the rebuild: retry it on the new one
        if writer in self.done:
            if self.rebuilt.get(writer, 0) >= _REBUILDS:
                return (
                    f"{damaged} is damaged again after it was rebuilt in this session; check "
                    f"the disk, then rerun ({cause})"
                )
            self.rebuilt[writer] = self.rebuilt.get(writer, 0) + 1
            self.store.reopen(
                writer, format_failure(FailureKind.rebuilding, f"{damaged} was damaged")
            )
            self._done_marker(writer).unlink(missing_ok=True)
            self.done.discard(writer)
            log.warning("%s is damaged: rebuilding %s", damaged, self.label(writer))
        return reason

    def _run_outcome(self, node: RunNode | CacheNode, outcome: Outcome) -> RunOutcome:
        if outcome.cache is not None:
            info = outcome.cache
            return RunOutcome(
                loss=None,
                tokens=info.tokens,
                flops=FlopsLedger(logit_cache=info.flops),
                checkpoint_path=os.path.relpath(info.path, self.study_dir)
                if os.path.isabs(info.path)
                else info.path,
            )
        result = outcome.result
        assert result is not None and isinstance(node, RunNode)
        teacher_loss = None
        if node.teacher_run is not None:
            teacher = self.store.get(node.teacher_run)
            teacher_loss = teacher.loss if teacher is not None else None
        return RunOutcome(
            loss=result.loss,
            tokens=result.tokens,
            flops=_phase_ledger(node, result.flops),
            teacher_loss=teacher_loss,
            wall_seconds=result.wall_seconds,
            tokens_per_second=result.tokens_per_second,
            checkpoint_path=f"runs/{node.run_id}",
        )

    def release(self, reason: str) -> None:
        """Record the runs still running as interrupted, uncounted (their claims end now)."""
        for node_id in list(self.running):
            try:
                self.store.release(
                    node_id, self.worker_id, format_failure(FailureKind.interrupted, reason)
                )
            except Exception:  # noqa: BLE001  best effort on the way out
                log.debug("could not release %s", node_id, exc_info=True)
        self.running.clear()


def disk_full_path(exc: BaseException, store: Store | None) -> str | None:
    """The path a write found the disk full on, if ``exc`` is that; else None.

    An ``OSError`` with ENOSPC or EDQUOT names its file; SQLite's "database or disk is full"
    (raised through SQLAlchemy) is the store's.
    """
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return str(exc.filename or "the study directory")
    if "database or disk is full" in str(exc):
        if store is None:
            return "the run store"
        url = store.url
        return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return None


def _phase_ledger(node: RunNode, measured: FlopsLedger) -> FlopsLedger:
    """Put a trainer's training FLOPs in the run's own phase (teacher/student/supervised)."""
    training = measured.student_training + measured.teacher_training
    training += measured.supervised_training
    return phase_ledger(node.kind, training, measured.teacher_inference)


def _curve_row(point: tuple[int, int, float, float | None, float]) -> CurveRow:
    step, tokens, train_loss, val_loss, lr = point
    return CurveRow(step=step, tokens=tokens, train_loss=train_loss, val_loss=val_loss, lr=lr)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def write_tables(
    store: Store, spec: StudySpec, graph: StudyGraph, study_dir: Path, *, curves: bool = True
) -> list[dict[str, Any]]:
    """Write ``runs.csv``, ``ledger.json`` and (``curves``) ``curves.csv``; return the run rows.

    The rows hold the ``runs.csv`` columns plus ``failure_reason`` (the store's reason for a
    failed run, else None), which ``runs.csv`` leaves out. Each file is replaced atomically.
    Rows cover this study's graph only (a store may hold other studies' runs).
    """
    nodes = graph.by_id()
    stored = {r.run_id: r for r in store.list_runs(study=spec.name)}
    records = {n: stored.get(n) or store.get(n) for n in nodes}
    rows: list[dict[str, Any]] = []
    actual = FlopsLedger()
    for node in graph.nodes():
        node_id = graph.node_id(node)
        rec = records[node_id]
        if rec is not None and rec.status == "done":
            actual = actual + _record_ledger(node, rec)
        if not isinstance(node, RunNode):
            continue
        teacher = nodes.get(node.teacher_run) if node.teacher_run else None
        status = rec.status if rec is not None else "pending"
        row = {
            "run": node.run_id,
            "kind": node.kind,
            "params": node.params,
            "tokens": rec.tokens if rec is not None and rec.tokens else node.tokens,
            "flops": (rec.flops_training if rec is not None and rec.flops_training else None)
            or node.full_ledger.total - node.full_ledger.teacher_inference,
            "loss": _finite(rec.loss) if rec is not None and status == "done" else None,
            "teacher_loss": _finite(rec.teacher_loss) if rec is not None else None,
            "teacher_params": teacher.params if isinstance(teacher, RunNode) else None,
            "teacher_tokens": teacher.tokens if isinstance(teacher, RunNode) else None,
            "status": status,
            "failure_reason": rec.failure_reason
            if rec is not None and status == "failed"
            else None,
            "teacher_run": node.teacher_run,
            "n_layers": node.config.shape.n_layers,
            "d_model": node.config.shape.d_model,
            "wall_seconds": rec.wall_seconds if rec is not None else None,
            "flops_training": rec.flops_training if rec is not None else None,
            "flops_teacher_inference": rec.flops_teacher_inference if rec is not None else None,
            "flops_logit_cache": rec.flops_logit_cache if rec is not None else None,
        }
        rows.append(row)
    _write_csv(study_dir / "runs.csv", RUN_COLUMNS, rows)
    ledger: dict[str, Any] = dict(actual.as_dict())
    ledger["planned"] = graph.ledger.as_dict()
    if any(r.trunk_run is not None for r in graph.runs):  # what cooldown branches did not spend
        ledger["saved_by_branches"] = graph.saved.as_dict()
    write_json_atomic(study_dir / "ledger.json", ledger)
    if curves:
        _write_curves(store, rows, study_dir)
    return rows


def _write_curves(store: Store, rows: list[dict[str, Any]], study_dir: Path) -> None:
    curve_rows = []
    for row in rows:
        if row["status"] != "done":
            continue
        for point in store.curve(row["run"]):
            curve_rows.append(
                {
                    "run": row["run"],
                    "step": point.step,
                    "tokens": point.tokens,
                    "train_loss": point.train_loss,
                    "val_loss": point.val_loss,
                    "lr": point.lr,
                }
            )
    _write_csv(study_dir / "curves.csv", CURVE_COLUMNS, curve_rows)


def _record_ledger(node: RunNode | CacheNode, rec: RunRecord) -> FlopsLedger:
    if isinstance(node, CacheNode):
        return FlopsLedger(logit_cache=rec.flops_logit_cache or 0.0)
    full = phase_ledger(node.kind, rec.flops_training or 0.0, rec.flops_teacher_inference or 0.0)
    if node.trunk_run is None:
        return full
    # a cooldown branch spent only its own steps: its trunk trained (and counted) the rest
    return FlopsLedger(
        **{
            f.name: max(0.0, getattr(full, f.name) - getattr(node.shared, f.name))
            for f in fields(full)
        }
    )


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    with atomic_open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in columns})


def make_executor(spec: StudySpec, run_fn: RunFn) -> Executor:
    """The executor the spec asks for (Ray is imported only for ``kind: ray``)."""
    e = spec.executor
    if e.kind == "ray":
        from distillscale.study.executors.ray import RayExecutor

        return RayExecutor(
            address=e.address,
            workers=e.workers,
            cpus_per_run=e.cpus_per_run,
            gpus_per_run=e.gpus_per_run,
            run_fn=run_fn,
        )
    from distillscale.study.executors.local import LocalExecutor

    return LocalExecutor(workers=e.workers, threads=e.threads, run_fn=run_fn)


def run_study(
    spec: StudySpec | str | Path,
    out: str | Path,
    *,
    console: Console | None = None,
    run_fn: RunFn = run_task,
    finish: bool = True,
) -> StudyResult:
    """Run (or resume) a study into ``out`` and, when all runs are settled, fit and plan.

    Parameters
    ----------
    spec : StudySpec, str or Path
        A spec or the path of a study YAML file.
    out : str or Path
        The study directory (created if missing; reused to resume).
    console : Console or None
        Where progress is rendered (default: stderr).
    run_fn : RunFn
        The run function executors call (default: train with :mod:`distillscale.train`).
    finish : bool
        Fit the laws, plan and build the report at the end.

    Returns
    -------
    StudyResult
        Counts, failures and FLOPs.

    Raises
    ------
    InputError
        Invalid spec, unreachable executor, or a fatal run error (disk full, bad corpus);
        everything finished before it stays in the store.
    """
    start = time.monotonic()
    store: Store | None = None
    store_file: str | None = None  # the default SQLite store, named if opening it fills the disk
    try:  # a disk already full: the same one line as a disk that fills up during the study
        spec, study_dir, text = _resolve(spec, out)
        store_file = None if spec.store else str(study_dir / "store.sqlite")
        fingerprint = study_fingerprint(spec)
        graph = build_graph(spec, fingerprint=fingerprint)  # a bad spec fails before any write
        store = open_study_store(spec, study_dir)
        claim_study_dir(store, spec, study_dir)
        _write_study_dir(spec, study_dir, text, out)
        reuse = finished_caches(store, study_dir)
        if reuse:
            graph = build_graph(spec, reuse=reuse, fingerprint=fingerprint)
        _register(store, spec, graph)
        store.set_study_runs(spec.name, graph.by_id())
    except Exception as exc:
        path = disk_full_path(exc, store)
        if path is None:
            raise
        if store is None and store_file is not None and path == "the run store":
            path = store_file
        raise InputError(disk_full_message(path)) from None
    console = console or Console(stderr=True)
    total = len(graph.runs) + len(graph.caches)
    executor = make_executor(spec, run_fn)
    progress = StudyProgress(console=console, total_runs=total, total_flops=graph.ledger.total)
    scheduler = _Scheduler(
        spec=spec,
        graph=graph,
        study_dir=study_dir,
        store=store,
        executor=executor,
        progress=progress,
    )
    try:
        with progress, interrupts.deferred():  # a signal stops the loop between rounds
            scheduler.initial_state()
            scheduler.loop()
    except BaseException as exc:
        why = f"by {exc}" if isinstance(exc, interrupts.Interrupted) else f"({type(exc).__name__})"
        scheduler.release(f"the study was stopped {why}; rerun to resume")
        raise
    finally:
        executor.close()
    try:
        rows = write_tables(store, spec, graph, study_dir)
    except Exception as exc:
        path = disk_full_path(exc, store)
        if path is None:
            raise
        scheduler.fatal = scheduler.fatal or disk_full_message(path)
    if scheduler.fatal and parse_failure(scheduler.fatal)[0] is FailureKind.disk_full:
        raise InputError(f"{scheduler.fatal} (finished runs are kept in the store)")
    if scheduler.fatal:
        raise InputError(
            f"study stopped: {scheduler.fatal} (finished runs are kept in the store; rerun the "
            "same command to resume)"
        )
    failures = {
        scheduler.label(n): r for n, r in scheduler.failed.items() if isinstance(
            scheduler.nodes[n], RunNode
        )
    }  # fmt: skip
    result = StudyResult(
        study_dir=study_dir,
        runs=len(graph.runs),
        done=sum(1 for r in rows if r["status"] == "done"),
        failed=len(failures),
        trained=scheduler.trained,
        failures=failures,
        ledger=_done_ledger(study_dir),
        planned=graph.ledger,
        wall_seconds=time.monotonic() - start,
    )
    log.info("study %s: %d/%d runs done", spec.name, result.done, result.runs)
    if finish:
        from distillscale.study.finish import finish_study

        finish_study(spec, graph, study_dir, rows, console=console)
    console.print(
        f"study {spec.name}: {result.done}/{result.runs} runs done, {result.failed} failed, "
        f"{result.trained} trained this session, {format_flops(result.ledger.total)} FLOPs, "
        + (
            f"{format_flops(graph.saved.total)} FLOPs saved by cooldown branches, "
            if graph.saved.total > 0
            else ""
        )
        + f"{result.wall_seconds:.0f} s",
        highlight=False,
    )
    return result


def _done_ledger(study_dir: Path) -> FlopsLedger:
    doc = json.loads((study_dir / "ledger.json").read_text(encoding="utf-8"))
    return FlopsLedger(
        **{k: v for k, v in doc.items() if k not in ("total", "planned", "saved_by_branches")}
    )
