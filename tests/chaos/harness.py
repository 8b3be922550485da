"""A seeded, bounded chaos harness for studies: SIGKILL the driver and its workers, rerun, check.

The harness runs a tiny real study (byte-level models of a few thousand parameters, tens of
optimiser steps each) as ``distillscale run SPEC --out DIR`` in a subprocess. At moments drawn
from a seeded RNG it SIGKILLs the driver, a worker, or a worker and then the driver; after each
kill of the driver it reruns the same command. The number of kills and the wall time of the
kill phase are bounded. A final pass runs the command to completion, and :func:`check_study`
checks the invariants against an undisturbed reference study with the same spec:

* every run is ``done`` in the store with one result; no row is left ``running``;
* no run that was ``done`` at any snapshot (taken after every kill) was trained again: its
  store record (``finished_at``, ``attempts``, loss), its ``result.json`` and its finished
  checkpoint never change afterwards, and its ``attempts.log`` gains no line;
* every ``checkpoint.pt`` loads with ``torch.load(..., weights_only=True)`` and holds the
  finished result and the whole curve; every logit cache passes its header check;
* stored curves have each step 1..steps exactly once and equal the reference's curves bit for
  bit (a resumed run logs what an uninterrupted one logs);
* teacher links are valid (every student's teacher and every cache's teacher is a finished
  teacher of the study);
* the run table (``runs.csv`` without wall-clock columns) and the fits (``fits/*.json``
  parameters) equal the reference's;
* no worker outlives a killed driver (orphans would train behind the next driver's back).

Processes are found through ``/proc`` (psutil is not a dependency): local workers are the
driver's ``multiprocessing`` spawn children; Ray workers are the driver's descendants whose
process title is ``ray::_remote_run`` (a task running).
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CLI = Path(sys.executable).with_name("distillscale")

#: runs.csv columns that measure wall-clock time, not the study's results.
TIMING_COLUMNS = ("wall_seconds",)

#: Words of the synthetic corpus (a seeded stream of these: learnable, small, no download).
_WORDS = (
    "the model loss teacher student data scale law token compute of a and is to in"
    " distillation supervised baseline cache logit fit plan"
).split()


def write_corpus(path: Path, *, lines: int = 3000, seed: int = 0) -> Path:
    """Write a deterministic text corpus (about 70 bytes per line) and return its path."""
    rng = random.Random(seed)
    text = "\n".join(" ".join(rng.choice(_WORDS) for _ in range(12)) for _ in range(lines))
    path.write_text(text + "\n", encoding="utf-8")
    return path


def tiny_spec(corpus: Path, *, executor: str = "local", **overrides: Any) -> dict[str, Any]:
    """A study of 8 tiny runs and 1 cache that fits the supervised law (about 200 steps in all).

    Four teachers (depths 1 and 2 at 0.05 and 0.1 tokens per parameter), two students of
    depth 1 distilled from one teacher through its top-k cache, and their two token-matched
    baselines: 6 supervised runs, enough for the 5 parameters of ``chinchilla``.
    """
    doc: dict[str, Any] = {
        "name": "chaos",
        "data": {"corpus": str(corpus), "seq_len": 16, "val_fraction": 0.1},
        "model": {"aspect": 16, "head_dim": 16},
        "teachers": {"depths": [1, 2], "tokens_per_param": [0.05, 0.1]},
        "students": {"depths": [1], "tokens": [1024, 2048], "teachers": ["d2-m0.05"]},
        "baselines": {"match": "tokens"},
        "training": {"batch_size": 4, "checkpoint_every": 4, "eval_tokens": 1024},
        "executor": {"kind": executor, "workers": 2, "lease_seconds": 2, "max_attempts": 50},
        "fit": {"bootstrap": 0, "holdout": 0.0},
        "plan": {"enabled": False},
        "report": False,
    }
    for key, value in overrides.items():
        doc[key] = {**doc.get(key, {}), **value} if isinstance(value, dict) else value
    return doc


def write_spec(path: Path, doc: dict[str, Any]) -> Path:
    """Write a spec document as YAML."""
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def cli_env() -> dict[str, str]:
    """Environment for study subprocesses: one thread each, no colour, no Ray usage stats."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        NO_COLOR="1",
        RAY_USAGE_STATS_ENABLED="0",
        PYTHONWARNINGS="ignore",
    )
    return env


def run_cli(spec: Path, out: Path, *, timeout: float = 600) -> dict[str, Any]:
    """Run ``distillscale run SPEC --out OUT --json`` to completion; return its JSON document."""
    done = subprocess.run(
        [str(CLI), "run", str(spec), "--out", str(out), "--json"],
        capture_output=True,
        timeout=timeout,
        env=cli_env(),
    )
    if done.returncode != 0:
        raise AssertionError(
            f"distillscale run exited {done.returncode}:\n{done.stderr.decode()[-4000:]}"
        )
    return json.loads(done.stdout)


# -- processes ---------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        out[int(entry)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """All living descendants of ``pid`` (children first)."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cmdline(pid: int) -> bytes:
    """A process's command line (NUL-separated), or ``b""`` when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"


def local_workers(driver: int, study: Path) -> list[int]:
    """The local executor's worker processes, busy or idle.

    Workers are the driver's ``multiprocessing`` spawn children (not the resource tracker).
    A killed busy worker's run is a failed attempt that is retried; a killed idle worker is
    replaced at the driver's next submit.
    """
    del study  # every worker is a target, whatever the store says it runs
    return [
        p
        for p in descendants(driver)
        if b"spawn_main" in cmdline(p) and b"resource_tracker" not in cmdline(p)
    ]


def ray_workers(driver: int, study: Path) -> list[int]:
    """Ray worker processes of the driver's local cluster that are running a task."""
    return [p for p in descendants(driver) if cmdline(p).startswith(b"ray::_remote_run")]


# -- snapshots ---------------------------------------------------------------------------------


def _read_store(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM runs")]
    except sqlite3.OperationalError:  # the driver was killed before creating the schema
        return []
    finally:
        conn.close()


def _lines(path: Path) -> int:
    try:
        return len(path.read_text(encoding="utf-8").splitlines())
    except OSError:
        return 0


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def snapshot(study: Path) -> dict[str, dict[str, Any]]:
    """What must never change again for each node that is ``done`` in the store now."""
    out: dict[str, dict[str, Any]] = {}
    for row in _read_store(study / "store.sqlite"):
        if row["status"] != "done":
            continue
        workdir = study / "runs" / row["run_id"]
        out[row["run_id"]] = {
            "record": (row["finished_at"], row["attempts"], row["loss"], row["claimed_by"]),
            "attempt_lines": _lines(workdir / "attempts.log"),
            "result_mtime": _mtime(workdir / "result.json"),
            "checkpoint_mtime": _mtime(workdir / "checkpoint.pt"),
        }
    return out


# -- the chaos loop ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Kill:
    """One SIGKILL: ``target`` is ``driver`` or ``worker``; ``at`` seconds into the kill phase."""

    target: str
    at: float
    pid: int
    round: int


@dataclass(slots=True, kw_only=True)
class ChaosLog:
    """What a chaos session did (filled in by :func:`chaos`)."""

    kills: list[Kill] = field(default_factory=list)
    rounds: int = 0
    snapshots: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    lingering: list[str] = field(default_factory=list)
    finished_early: bool = False
    final: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, target: str) -> int:
        """Kills of one target."""
        return sum(1 for k in self.kills if k.target == target)


def _work_started(study: Path) -> int:
    return sum(_lines(p) for p in (study / "runs").glob("*/attempts.log"))


def _done_count(study: Path) -> int:
    return sum(1 for r in _read_store(study / "store.sqlite") if r["status"] == "done")


def _can_train(pid: int) -> bool:
    """A process that runs tasks: a local spawn worker or a Ray worker (busy or idle)."""
    cmd = cmdline(pid)
    if b"spawn_main" in cmd:
        return b"resource_tracker" not in cmd
    return cmd.startswith((b"ray::_remote_run", b"ray::IDLE")) or b"default_worker.py" in cmd


def _name(pid: int) -> str:
    return cmdline(pid).replace(b"\0", b" ").strip()[:80].decode(errors="replace")


def _reap(proc: subprocess.Popen[bytes], family: list[int], log: ChaosLog, why: str) -> None:
    """Wait for a killed driver and its descendants; record and kill those that outlive it.

    A worker alive 10 s after its driver is an orphan (it could train behind the next
    driver's back); other helpers (Ray's agents) get 15 s and are only recorded.
    """
    proc.wait(timeout=120)
    start = time.monotonic()
    survivors = [p for p in family if alive(p)]
    while survivors and time.monotonic() - start < 15.0:
        if time.monotonic() - start >= 10.0:
            for p in [p for p in survivors if _can_train(p)]:
                log.orphans.append(f"{why}: worker {p} ({_name(p)}) outlived the driver")
                _kill(p)
                survivors.remove(p)
        time.sleep(0.2)
        survivors = [p for p in survivors if alive(p)]
    for p in survivors:
        log.lingering.append(f"{why}: {p} ({_name(p)}) alive 15 s after the driver")
        _kill(p)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def chaos(
    spec: Path,
    out: Path,
    *,
    seed: int,
    max_kills: int = 6,
    budget_seconds: float = 120.0,
    find_workers: Callable[[int, Path], list[int]] = local_workers,
    max_delay: float = 3.0,
    arm_nodes: int = 2,
) -> ChaosLog:
    """Run the study in ``out`` under seeded SIGKILLs, then to completion (see module doc).

    Parameters
    ----------
    spec, out : Path
        The study spec and directory.
    seed : int
        Seeds every choice: when to kill (once a training attempt has started in the round
        and 0..``arm_nodes`` more nodes have finished, after a delay uniform in [0.1, ``max_delay``]
        seconds; or, one time in seven, 0.5-8 s after the driver starts, before any run), and
        whom (the driver, a worker, or a worker and then the driver).
    max_kills : int
        At most this many SIGKILLs in all.
    budget_seconds : float
        No new kill round starts after this many seconds (wall clock).
    find_workers : callable
        (driver pid, study directory) -> pids of workers running a task
        (:func:`local_workers` or :func:`ray_workers`).
    max_delay : float
        Upper end of the kill delay (seconds).
    arm_nodes : int
        Most nodes (runs, caches) that may finish in a round before its kill is armed; smaller
        values kill more often per study.
    """
    rng = random.Random(seed)
    log = ChaosLog()
    start = time.monotonic()
    env = cli_env()
    proc: subprocess.Popen[bytes] | None = None
    while len(log.kills) < max_kills and time.monotonic() - start < budget_seconds:
        if proc is None:
            log.rounds += 1
            proc = subprocess.Popen(
                [str(CLI), "run", str(spec), "--out", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
            baseline = _work_started(out)
        early = rng.random() < 0.15  # now and then kill the driver before any run starts
        arm = _done_count(out) + rng.randint(0, arm_nodes)  # wait for more nodes to finish
        delay = rng.uniform(0.1, max_delay)
        target = rng.choice(("driver", "worker", "worker+driver"))
        if early:
            delay = rng.uniform(0.5, 8.0)
        else:  # a training attempt started in this round and ``arm`` nodes are done
            while proc.poll() is None and (
                _work_started(out) <= baseline or _done_count(out) < arm
            ):
                time.sleep(0.1)
        deadline = time.monotonic() + delay
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None:
            _, err = proc.communicate()
            if proc.returncode == 0:
                log.finished_early = True
                break
            log.unexpected_exits.append(
                f"round {log.rounds}: driver exited {proc.returncode}: "
                + err.decode(errors="replace").strip()[-2000:]
            )
            proc = None
            continue
        now = time.monotonic() - start
        if target != "driver" and not early:
            workers = find_workers(proc.pid, out)
            if workers:
                victim = rng.choice(workers)
                os.kill(victim, signal.SIGKILL)
                log.kills.append(Kill(target="worker", at=now, pid=victim, round=log.rounds))
                if target == "worker":
                    continue
                pause = time.monotonic() + rng.uniform(0.2, 1.5)
                while proc.poll() is None and time.monotonic() < pause:
                    time.sleep(0.05)
                if len(log.kills) >= max_kills or proc.poll() is not None:
                    continue
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        log.kills.append(Kill(target="driver", at=now, pid=proc.pid, round=log.rounds))
        _reap(proc, family, log, f"round {log.rounds}")
        proc.stderr.close()  # type: ignore[union-attr]
        proc = None
        log.snapshots.append(snapshot(out))
    if proc is not None:  # the kill budget is spent: let this driver finish
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            log.unexpected_exits.append(
                f"round {log.rounds}: driver exited {proc.returncode}: "
                + err.decode(errors="replace").strip()[-2000:]
            )
        log.snapshots.append(snapshot(out))
    log.final = run_cli(spec, out)
    log.seconds = time.monotonic() - start
    return log


# -- invariants --------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Checked:
    """Counts of the invariants :func:`check_study` verified (each a passed assertion).

    ``leftovers`` lists temporary files of atomic writes interrupted by a kill (harmless:
    nothing reads them).
    """

    counts: dict[str, int] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)

    def ok(self, name: str, n: int = 1) -> None:
        """Count ``n`` passed checks of one invariant."""
        self.counts[name] = self.counts.get(name, 0) + n

    @property
    def total(self) -> int:
        """All checks passed."""
        return sum(self.counts.values())


def _runs_csv(study: Path) -> list[dict[str, str]]:
    with open(study / "runs.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


def _fits(study: Path) -> dict[str, dict[str, float]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))["params"]
        for p in sorted((study / "fits").glob("*.json"))
        if p.name != "notes.json"
    }


def _curves(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for row in conn.execute(
            "SELECT run_id, step, tokens, train_loss, val_loss, lr FROM curves "
            "ORDER BY run_id, step"
        ):
            out.setdefault(row[0], []).append(tuple(row[1:]))
        return out
    finally:
        conn.close()


def _cache_header(path: Path) -> dict[str, Any]:
    """A logit cache's header, after checking its magic and that the file holds every array."""
    data = path.read_bytes()
    assert data[:8] == b"DSLOGIT1", f"{path}: bad magic {data[:8]!r}"
    size = int.from_bytes(data[8:16], "little")
    header = json.loads(data[16 : 16 + size])
    n, t, k = header["sequences"], header["seq_len"], header["top_k"]
    index_bytes = int(header["index_dtype"][-1])
    expected = 16 + size + n * t * k * (2 + index_bytes) + n * t * 2  # float16 logp, rest
    assert len(data) == expected, f"{path}: {len(data)} bytes, a complete cache has {expected}"
    return header


def check_study(study: Path, reference: Path, log: ChaosLog | None = None) -> Checked:
    """Assert the invariants of the module docstring; return how many checks passed.

    Raises
    ------
    AssertionError
        Naming the run and the invariant that does not hold.
    """
    import torch

    checked = Checked()
    rows = {r["run_id"]: r for r in _read_store(study / "store.sqlite")}
    ref_rows = {r["run_id"]: r for r in _read_store(reference / "store.sqlite")}
    assert set(rows) == set(ref_rows), "the stores hold different runs"
    for run_id, row in rows.items():
        assert row["status"] == "done", f"{row['kind']} {run_id}: {row['status']} ({row})"
        assert row["claim_expires_at"] is None, f"{run_id}: a claim is left on a done run"
        assert row["finished_at"] is not None and row["attempts"] >= 1, row
    checked.ok("store: every node done, no claim left", len(rows))

    # nothing done at a snapshot changed afterwards (no run trained twice)
    final = snapshot(study)
    for i, snap in enumerate(log.snapshots if log is not None else []):
        for run_id, seen in snap.items():
            assert final[run_id] == seen, (
                f"{rows[run_id]['kind']} {run_id} was done at snapshot {i} and changed later: "
                f"{seen} -> {final[run_id]}"
            )
            checked.ok("done runs never trained again")

    # teacher links
    for run_id, row in rows.items():
        if row["kind"] in ("student", "cache"):
            teacher = rows.get(row["teacher_run_id"])
            assert teacher is not None and teacher["kind"] == "teacher", (run_id, row)
            assert teacher["status"] == "done"
            if row["kind"] == "student":
                assert row["teacher_loss"] == teacher["loss"], (run_id, row["teacher_loss"])
            checked.ok("teacher links valid")

    # checkpoints, results and caches
    curves, ref_curves = _curves(study / "store.sqlite"), _curves(reference / "store.sqlite")
    for run_id, row in rows.items():
        if row["kind"] == "cache":
            header = _cache_header(study / row["checkpoint_path"])
            assert header["teacher_run_id"] == row["teacher_run_id"], (run_id, header)
            same = (study / row["checkpoint_path"]).read_bytes() == (
                reference / ref_rows[run_id]["checkpoint_path"]
            ).read_bytes()
            assert same, f"cache {run_id}: its bytes differ from the reference's cache"
            checked.ok("logit caches complete and equal to the reference")
            continue
        workdir = study / "runs" / run_id
        state = torch.load(workdir / "checkpoint.pt", map_location="cpu", weights_only=True)
        batch = json.loads(row["config"])["batch_size"]
        steps = math.ceil(row["tokens"] / (row["seq_len"] * batch))
        assert state["step"] == steps and state["result"] is not None, (run_id, state["step"])
        assert state["result"]["loss"] == row["loss"], (run_id, state["result"], row["loss"])
        checked.ok("checkpoints load (weights_only) with the finished result")
        starts = _lines(workdir / "attempts.log")
        assert 1 <= starts <= row["attempts"], (
            f"{run_id}: {starts} training starts in attempts.log, {row['attempts']} claims"
        )
        checked.ok("training starts <= claims in the store")
        result = json.loads((workdir / "result.json").read_text(encoding="utf-8"))
        assert result["loss"] == row["loss"], run_id
        curve = curves.get(run_id, [])
        assert [c[0] for c in curve] == list(range(1, steps + 1)), (
            f"{run_id}: stored curve steps {[c[0] for c in curve]} are not 1..{steps}"
        )
        assert curve == ref_curves[run_id], f"{run_id}: curve differs from the reference"
        checked.ok("curves: each step once, equal to the reference")
        assert row["loss"] == ref_rows[run_id]["loss"], (
            f"{row['kind']} {run_id}: loss {row['loss']} != reference {ref_rows[run_id]['loss']}"
        )
        checked.ok("losses equal to the reference")
    # a SIGKILL inside an atomic write leaves its temporary file: harmless, but counted
    checked.leftovers = sorted(str(p.relative_to(study)) for p in study.rglob(".*.tmp"))

    assert _runs_csv(study) == _runs_csv(reference), "runs.csv differs from the reference"
    checked.ok("runs.csv equal to the reference")
    fits, ref_fits = _fits(study), _fits(reference)
    assert set(fits) == set(ref_fits) and fits, (sorted(fits), sorted(ref_fits))
    for name, params in fits.items():
        assert params == ref_fits[name], f"fits/{name}.json: {params} != {ref_fits[name]}"
        checked.ok("fits equal to the reference")
    notes = json.loads((study / "fits" / "notes.json").read_text(encoding="utf-8"))
    assert notes == json.loads((reference / "fits" / "notes.json").read_text(encoding="utf-8"))
    checked.ok("fits/notes.json equal to the reference")
    if log is not None:
        assert not log.orphans, log.orphans
        checked.ok("no worker outlived a killed driver", log.count("driver"))
        assert log.final["done"] == log.final["runs"] and log.final["failed"] == 0, log.final
        checked.ok("final pass: every run done")
    return checked


def summary(log: ChaosLog, checked: Checked) -> str:
    """One paragraph: kills survived, rounds, time, invariant checks, leftovers."""
    return (
        f"survived {len(log.kills)} kills ({log.count('driver')} driver, "
        f"{log.count('worker')} worker) in {log.rounds} rounds, {log.seconds:.0f} s; "
        f"{checked.total} invariant checks passed: {checked.counts}; "
        f"unexpected driver exits: {log.unexpected_exits}; lingering helpers: {log.lingering}; "
        f"temporary files left: {checked.leftovers}"
    )
