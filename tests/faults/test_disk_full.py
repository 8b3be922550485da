"""A full disk stops the study with one message, leaves nothing half-written, costs no attempt.

Issue 9, item 5 (measured on 0.1.0): torch.save's RuntimeError on a full disk and the SIGBUS of
a logit cache written through ``np.memmap`` onto a full file system were crashes, retried
``max_attempts`` times (9 of 10 runs ended failed). Now: exit 2 with ``disk full: no space left
on device writing PATH; free space and rerun``, no ``*.tmp`` file, the store intact, the attempt
not counted, and a rerun after freeing space finishes every run exactly once.

The real variant mounts a small tmpfs (root only); the monkeypatched variants always run.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rich.console import Console

from distillscale.errors import InputError
from distillscale.study.graph import build_graph
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec
from distillscale.train import build_logit_cache, train_run
from distillscale.train.trainer import CHECKPOINT
from study.fakes import DISK_FULL_MARKER, FINISHED_LOG, fast_run_fn

from .test_integrity import DATA, tiny_config

MESSAGE = "disk full: no space left on device writing {}; free space and rerun"


def _leftovers(root: Path) -> list[Path]:
    """Temporary files of interrupted atomic writes."""
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


class _FullDisk:
    """A file opened for writing on a disk with ``room`` bytes left (shared by all files)."""

    room = 0

    def __init__(self, path, mode="r", *args, **kwargs):
        self._fh = open(path, mode, *args, **kwargs)  # noqa: SIM115  closed by __exit__

    def write(self, data) -> int:
        n = len(memoryview(data).cast("B"))
        if n > _FullDisk.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        _FullDisk.room -= n
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()


def test_torch_save_on_a_full_disk_fails_the_run_cleanly(tmp_path, monkeypatch, tally):
    """The real torch.save writing into a file that hits ENOSPC (torch raises RuntimeError)."""
    import distillscale.atomic as atomic  # every checkpoint is written through it
    import distillscale.train.trainer as trainer

    config = tiny_config(checkpoint_every=10)
    monkeypatch.setattr(atomic, "open", _FullDisk, raising=False)
    _FullDisk.room = 10**9
    calls = []
    real_save = torch.save

    def save(obj, fh) -> None:  # the disk fills up during the second checkpoint
        calls.append(1)
        if len(calls) == 2:
            _FullDisk.room = 4096
        real_save(obj, fh)

    monkeypatch.setattr(trainer.torch, "save", save)
    result = train_run(config, tmp_path)
    tally["faults"] += 1
    assert result.status == "failed"
    assert result.failure_reason == MESSAGE.format(tmp_path / CHECKPOINT)
    assert not _leftovers(tmp_path)
    monkeypatch.undo()
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["step"] == 10  # intact
    again = train_run(config, tmp_path)  # space freed: resumes from step 10
    assert again.status == "done" and len(again.curve) == config.steps


def test_a_cache_on_a_full_disk_is_an_oserror_not_a_sigbus(tmp_path, monkeypatch, tally):
    """The cache is preallocated before it is mapped: ENOSPC surfaces before any write."""
    import distillscale.train.logit_cache as logit_cache

    config = tiny_config(kind="teacher")
    train_run(config, tmp_path / "teacher")
    from distillscale.train import load_teacher

    teacher = load_teacher(tmp_path / "teacher" / CHECKPOINT)
    calls = []

    def fallocate(fd, offset, length) -> None:
        calls.append(length)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(logit_cache.os, "posix_fallocate", fallocate)
    path = tmp_path / "caches" / "t.logits"
    with pytest.raises(OSError) as info:
        build_logit_cache(teacher, DATA, tokens=8 * 32 * 4, seq_len=32, top_k=8, path=path)
    tally["faults"] += 1
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert calls and calls[0] > 8 * 4 * 32 * (8 * 4 + 2)  # the whole file, arrays included
    assert not path.exists() and not _leftovers(tmp_path)


def _quiet() -> Console:
    return Console(stderr=True, quiet=True)


def test_a_full_disk_stops_the_study_without_costing_an_attempt(tmp_path, monkeypatch, tally):
    """Fakes: the first teacher checkpoint write finds the disk full (ENOSPC), then space."""
    import copy

    from study.specs import TINY

    doc = copy.deepcopy(TINY)
    doc["executor"].update(max_attempts=1)  # a counted attempt would fail the run for good
    spec = parse_spec(doc)
    graph = build_graph(spec)
    study = tmp_path / "s"
    monkeypatch.setenv(DISK_FULL_MARKER, "teacher")
    with pytest.raises(InputError) as info:
        run_study(spec, study, console=_quiet(), run_fn=fast_run_fn(), finish=False)
    tally["faults"] += 1
    message = str(info.value)
    assert message.startswith("disk full: no space left on device writing ")
    assert "free space and rerun" in message and "\n" not in message
    assert not _leftovers(study)
    db = sqlite3.connect(study / "store.sqlite")
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    db.close()
    monkeypatch.delenv(DISK_FULL_MARKER)
    result = run_study(spec, study, console=_quiet(), run_fn=fast_run_fn(), finish=False)
    assert result.done == result.runs and result.failed == 0
    tally["lost"] += result.runs - result.done
    for run in graph.runs:  # every run trained to its end exactly once
        assert (study / "runs" / run.run_id / FINISHED_LOG).read_text().count("\n") == 1
    assert not _leftovers(study)


# -- a real full file system ---------------------------------------------------------------------


def _can_mount(tmp: Path) -> str | None:
    """None when this process may mount a tmpfs, else the reason it may not."""
    if not sys.platform.startswith("linux"):
        return "tmpfs needs Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    probe = tmp / "probe"
    probe.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        return f"mount -t tmpfs is not permitted here: {done.stderr.strip()}"
    subprocess.run(["umount", str(probe)], check=True)
    return None


def _real_spec(tmp: Path) -> Path:
    """Two tiny real teachers, a cache, one student; one worker (a deterministic order)."""
    from chaos.harness import tiny_spec, write_corpus, write_spec

    doc = tiny_spec(write_corpus(tmp / "corpus.txt"))
    doc["teachers"] = {"depths": [1], "tokens_per_param": [0.05, 0.1]}
    doc["students"] = {"depths": [1], "tokens": [1024], "teachers": ["d1-m0.1"]}
    doc["baselines"] = {"enabled": False}
    doc["fit"] = {"enabled": False}
    doc["executor"].update(workers=1, max_attempts=1)  # a counted attempt would be final
    return write_spec(tmp / "study.yaml", doc)


def _cli(spec: Path, out: Path) -> subprocess.CompletedProcess[str]:
    from chaos.harness import CLI, cli_env

    return subprocess.run(
        [str(CLI), "run", str(spec), "--out", str(out), "--json"],
        capture_output=True, text=True, env=cli_env(), timeout=600,
    )  # fmt: skip


def _store(study: Path) -> dict[str, tuple]:
    db = sqlite3.connect(study / "store.sqlite")
    try:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        rows = db.execute("select run_id, status, failure_reason from runs").fetchall()
    finally:
        db.close()
    return {r[0]: r[1:] for r in rows}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "size", "writer"),
    [("study", "300k", "checkpoint.pt"), ("study/caches", "64k", ".logits")],
    ids=["checkpoint", "cache"],
)
def test_a_real_full_tmpfs_stops_the_study_and_the_rerun_finishes(
    where, size, writer, tmp_path, tally
):
    """torch.save (a checkpoint) or a cache meets a real full file system; then it is enlarged.

    ``study`` on a 300 KB tmpfs fills during the first teacher's checkpoint; ``study/caches``
    on a 64 KB tmpfs cannot hold the 134 KB cache (preallocation fails: no SIGBUS).
    """
    reason = _can_mount(tmp_path)
    if reason is not None:
        pytest.skip(f"{reason}; test_a_full_disk_stops_the_study_without_costing_an_attempt "
                    "covers the same path with an injected ENOSPC")  # fmt: skip
    spec = _real_spec(tmp_path)
    study = tmp_path / "study"
    mount = tmp_path / where
    mount.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        first = _cli(spec, study)
        tally["faults"] += 1
        assert first.returncode == 2, first.stderr[-2000:]
        assert first.stdout == ""
        last = first.stderr.strip().splitlines()[-1]
        assert last.startswith("error: disk full: no space left on device writing "), last
        path = last.removeprefix("error: disk full: no space left on device writing ").split(";")[0]
        assert path.endswith(writer) and Path(path).is_relative_to(study), last
        assert last.endswith("; free space and rerun (finished runs are kept in the store)")
        assert not _leftovers(study)
        records = _store(study)
        done_before = {r for r, (status, _) in records.items() if status == "done"}
        logs = {r: (study / "runs" / r / "attempts.log").read_text() for r in done_before
                if (study / "runs" / r).exists()}  # fmt: skip
        subprocess.run(["mount", "-o", "remount,size=16m", str(mount)], check=True)  # space
        second = _cli(spec, study)
        assert second.returncode == 0, second.stderr[-2000:]
        result = json.loads(second.stdout)
        assert result["done"] == result["runs"] and result["failed"] == 0
        tally["lost"] += result["runs"] - result["done"]
        records = _store(study)
        assert all(status == "done" for status, _ in records.values()), records
        for run_id, text in logs.items():  # finished runs were not trained again
            assert (study / "runs" / run_id / "attempts.log").read_text() == text
        for run_dir in (study / "runs").iterdir():  # each run trained to its end once
            assert (run_dir / "result.json").exists()
            torch.load(run_dir / CHECKPOINT, weights_only=True)
        assert not _leftovers(study)
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_disk_full_before_the_first_run_is_the_same_one_line(tmp_path, monkeypatch, tally):
    """Writing ``spec.json`` finds the disk full: exit-2 message, not a traceback."""
    import copy

    import distillscale.study.runner as runner
    from study.specs import TINY

    def full(path, document) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(runner, "write_json_atomic", full)
    with pytest.raises(InputError) as info:
        run_study(parse_spec(copy.deepcopy(TINY)), tmp_path / "s", console=_quiet(),
                  run_fn=fast_run_fn(), finish=False)  # fmt: skip
    tally["faults"] += 1
    assert str(info.value) == MESSAGE.format(tmp_path / "s" / "spec.json")


def test_a_full_tmpfs_before_the_first_run(tmp_path, tally):
    """The real thing, no training: the study directory is on a tmpfs that is already full."""
    reason = _can_mount(tmp_path)
    if reason is not None:
        pytest.skip(f"{reason}; test_a_disk_full_before_the_first_run_is_the_same_one_line "
                    "covers the same path with an injected ENOSPC")  # fmt: skip
    from chaos.harness import CLI, cli_env

    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        (mount / "filler").write_bytes(b"\0" * 4096 * 16)
        spec = _real_spec(tmp_path)
        argv = [str(CLI), "run", str(spec), "--out", str(mount / "study")]
        done = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), timeout=120)
        tally["faults"] += 1
        assert done.returncode == 2 and done.stdout == ""
        # the default store is created first (a second driver is refused before any file is
        # written), so it is the write that finds the disk full
        assert done.stderr.strip() == "error: " + MESSAGE.format(mount / "study" / "store.sqlite")
        assert not _leftovers(mount) and not (mount / "study" / "study.yaml").exists()
    finally:
        subprocess.run(["umount", str(mount)], check=False)
