"""distillscale.atomic: old or new, never half; no temporary left; a full disk names the target."""

import errno
import json
import os

import pytest

from distillscale import atomic
from distillscale.atomic import atomic_open, atomic_path, atomic_write, atomic_write_json


def _hidden(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_text_bytes_and_json_round_trip(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "é\n").read_text(encoding="utf-8") == "é\n"
    assert atomic_write(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    path = atomic_write_json(tmp_path / "c.json", {"b": 1, "a": [1.5]}, indent=1, sort_keys=True)
    assert path.read_text() == json.dumps({"a": [1.5], "b": 1}, indent=1, sort_keys=True)
    assert _hidden(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.json"
    path.write_text("old")
    with pytest.raises(ValueError, match="Out of range float"):
        atomic_write_json(path, {"x": float("nan")}, allow_nan=False)
    with pytest.raises(RuntimeError), atomic_open(path, "w") as fh:
        fh.write("half")
        raise RuntimeError("killed mid-write")
    assert path.read_text() == "old"
    assert _hidden(tmp_path) == []


def test_fixed_temporary_name_for_files_retried_by_the_next_attempt(tmp_path):
    with atomic_path(tmp_path / "checkpoint.pt", unique=False) as tmp:
        assert tmp.name == ".checkpoint.pt.tmp"
        tmp.write_bytes(b"state")
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"state"


def test_a_full_disk_names_the_target_not_the_temporary(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    target = tmp_path / "runs.csv"
    with pytest.raises(OSError) as caught:
        atomic_write(target, "run\n")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert not target.exists() and _hidden(tmp_path) == []
    assert os.listdir(tmp_path) == []
