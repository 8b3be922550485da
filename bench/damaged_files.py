"""Damage a real tiny study's files, rerun it, and count the runs lost or silently wrong.

A reference study (2 byte-level teachers, 1 top-k cache, 2 students; no baselines, no fits)
runs once through ``distillscale run``. Each case copies it, sets some runs back to pending in
the store (as if the study had stopped before them), damages a file, and reruns the command:

* ``bitrot``: 4 flipped bits in the cache's float16 log-probs (students pending);
* ``truncate`` / ``random``: the cache cut to half / replaced by random bytes (students pending);
* ``ckpt-truncated``: an unfinished teacher's checkpoint cut to 1,000 bytes;
* ``teacher-ckpt-bitrot``: a flipped byte in each finished teacher's checkpoint, the cache and
  students pending (the cache needs a teacher's weights).

Per case: exit status, runs not ``done`` (lost), done runs whose loss differs from the
reference (silently wrong), and attempts per run. ``PYTHONPATH=OLD/src`` measures another
version with the same script.

Usage: ``.venv/bin/python bench/damaged_files.py DIR`` (about 3 minutes on 2 cores)
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "chaos"))

from harness import CLI, cli_env, tiny_spec, write_corpus, write_spec

from _machine import machine as describe_machine


def _spec(base: Path) -> Path:
    doc = tiny_spec(write_corpus(base / "corpus.txt"))
    doc["teachers"] = {"depths": [1], "tokens_per_param": [0.05, 0.1]}
    doc["students"] = {"depths": [1], "tokens": [1024, 2048], "teachers": ["d1-m0.1"]}
    doc["baselines"] = {"enabled": False}
    doc["fit"] = {"enabled": False}
    doc["executor"]["max_attempts"] = 5
    return write_spec(base / "study.yaml", doc)


def _run(spec: Path, out: Path) -> tuple[int, str]:
    done = subprocess.run(
        [str(CLI), "run", str(spec), "--out", str(out), "--json"],
        capture_output=True, text=True, env=cli_env(), timeout=900,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    return done.returncode, lines[-1] if done.returncode and lines else ""


def _rows(out: Path) -> dict[str, tuple]:
    db = sqlite3.connect(out / "store.sqlite")
    rows = db.execute("select run_id, kind, status, attempts, loss from runs").fetchall()
    db.close()
    return {r[0]: r[1:] for r in rows}


def _pending(out: Path, run_ids: list[str], *, keep_workdir: bool = False) -> None:
    db = sqlite3.connect(out / "store.sqlite")
    for run_id in run_ids:
        db.execute("update runs set status='pending', attempts=0 where run_id=?", (run_id,))
        if not keep_workdir:
            shutil.rmtree(out / "runs" / run_id, ignore_errors=True)
    db.commit()
    db.close()


def _flip(path: Path, offset: int, mask: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def main() -> None:
    print(describe_machine())
    base = Path(sys.argv[1]).resolve()
    base.mkdir(parents=True, exist_ok=True)
    spec = _spec(base)
    ref = base / "reference"
    if not ref.exists():
        code, line = _run(spec, ref)
        assert code == 0, line
    reference = _rows(ref)
    students = [r for r, v in reference.items() if v[0] == "student"]
    teachers = [r for r, v in reference.items() if v[0] == "teacher"]
    (cache,) = (ref / "caches").glob("*.logits")
    totals = {"faults": 0, "lost": 0, "wrong": 0}
    for case in ("bitrot", "truncate", "random", "ckpt-truncated", "teacher-ckpt-bitrot"):
        out = base / case
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(ref, out)
        path = out / "caches" / cache.name
        if case in ("bitrot", "truncate", "random"):
            _pending(out, students)
            data = path.read_bytes()
            if case == "bitrot":
                start = 16 + int.from_bytes(data[8:16], "little")
                for i in (101, 2001, 4001, 9001):  # high bytes of float16 log-probs
                    _flip(path, start + 2 * i + 1, 0x04)
            elif case == "truncate":
                path.write_bytes(data[: len(data) // 2])
            else:
                path.write_bytes(os.urandom(len(data)))
        elif case == "ckpt-truncated":
            _pending(out, teachers[:1], keep_workdir=True)
            (out / "runs" / teachers[0] / "result.json").unlink()
            checkpoint = out / "runs" / teachers[0] / "checkpoint.pt"
            checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
        else:
            _pending(out, [*students, cache.stem])
            path.unlink()
            (out / "caches" / f"{cache.name}.json").unlink()
            for run_id in teachers:
                checkpoint = out / "runs" / run_id / "checkpoint.pt"
                _flip(checkpoint, checkpoint.stat().st_size // 2, 0xFF)
        totals["faults"] += 1
        code, line = _run(spec, out)
        now = _rows(out)
        lost = sum(1 for v in now.values() if v[1] != "done")
        wrong = [
            (v[0], v[3] - reference[r][3])
            for r, v in now.items()
            if v[1] == "done" and v[3] is not None and v[3] != reference[r][3]
        ]
        totals["lost"] += lost
        totals["wrong"] += len(wrong)
        attempts = ", ".join(f"{v[0]} {v[2]}x {v[1]}" for v in now.values())
        print(f"{case}: exit {code}, lost {lost}, silently wrong {len(wrong)} {wrong or ''}")
        print(f"  attempts: {attempts}" + (f"\n  stderr: {line[:300]}" if line else ""))
    print(
        f"faults injected: {totals['faults']}, runs lost: {totals['lost']}, "
        f"runs silently wrong: {totals['wrong']}"
    )


if __name__ == "__main__":
    main()
