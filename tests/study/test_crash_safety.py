"""Kill the driver and workers of a study at random points; the rerun must finish every run
exactly once and reproduce an uninterrupted study (store, tables and fits)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distillscale.study.graph import build_graph
from distillscale.study.spec import parse_spec
from distillscale.study.store import open_store

from .fakes import FINISHED_LOG

DRIVER = Path(__file__).with_name("crash_driver.py")
STEP_SECONDS = 0.03

DOC = {
    "name": "crashy",
    "data": {"seq_len": 16},
    "model": {"aspect": 16, "head_dim": 16},
    "teachers": {"depths": [1, 2, 3], "tokens_per_param": [0.05, 0.1]},
    "students": {"depths": [1], "tokens": [1024, 2048], "teachers": ["d1-m0.1", "d3-m0.1"]},
    "training": {"batch_size": 4},
    "executor": {"workers": 2, "lease_seconds": 1, "max_attempts": 50},
    "fit": {"bootstrap": 0, "holdout": 0.0},
    "plan": {"enabled": False},
    "report": False,
}


def _driver(spec: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), str(spec), str(out), str(STEP_SECONDS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _complete(spec: Path, out: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(spec), str(out), str(STEP_SECONDS)],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]


def _workers(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = []
    for child in children:
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd and b"resource_tracker" not in cmd:
            out.append(int(child))
    return out


def _tables(study: Path) -> tuple[str, dict]:
    fits = {p.name: json.loads(p.read_text())["params"] for p in (study / "fits").glob("*.json")
            if p.name != "notes.json"}  # fmt: skip
    return (study / "runs.csv").read_text(), fits


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc to find workers")
def test_killed_driver_and_workers_resume_to_the_same_study(tmp_path):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(DOC))
    graph = build_graph(parse_spec(DOC))
    reference = tmp_path / "reference"
    _complete(spec_path, reference)

    rng = random.Random(1234)
    study = tmp_path / "crashed"
    kills = {"driver": 0, "worker": 0}
    for _ in range(12):
        proc = _driver(spec_path, study)
        deadline = time.monotonic() + rng.uniform(2.0, 6.0)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
        workers = _workers(proc.pid)
        if workers and rng.random() < 0.5:
            os.kill(rng.choice(workers), signal.SIGKILL)
            kills["worker"] += 1
            time.sleep(rng.uniform(0.5, 2.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills["driver"] += 1
        proc.wait(timeout=60)
    _complete(spec_path, study)
    assert kills["driver"] >= 3, kills

    store = open_store(f"sqlite:///{study / 'store.sqlite'}")
    for node in graph.runs:
        record = store.get(node.run_id)
        assert record.status == "done", (node.label, record.failure_reason)
        finished = (study / "runs" / node.run_id / FINISHED_LOG).read_text().split()
        assert len(finished) == 1, f"{node.label} trained to its end {len(finished)} times"
    for cache in graph.caches:
        assert store.get(cache.cache_id).status == "done"
    runs_csv, fits = _tables(study)
    ref_csv, ref_fits = _tables(reference)
    assert runs_csv == ref_csv
    assert set(fits) == set(ref_fits) == {"supervised.json"}
    for name, params in fits.items():
        # equal up to the optimiser's tolerance (the fit is not bit-reproducible across processes)
        assert params == pytest.approx(ref_fits[name], rel=1e-6)
    ref_store = open_store(f"sqlite:///{reference / 'store.sqlite'}")
    for node in graph.runs:
        a, b = store.get(node.run_id), ref_store.get(node.run_id)
        assert (a.loss, a.teacher_loss, a.tokens, a.flops_total) == (
            b.loss,
            b.teacher_loss,
            b.tokens,
            b.flops_total,
        )
        assert store.curve(node.run_id) == ref_store.curve(node.run_id)
