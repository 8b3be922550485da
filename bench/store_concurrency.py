"""Run-store throughput: 4 concurrent writer processes against 1 writer.

Each "run" is register + claim + complete + one curve append of 10 steps. One writer does all
N runs; then 4 spawned processes each do N/4 (disjoint runs) at the same time, started by a
barrier. Printed: wall seconds of each, runs per second, and the overhead ratio
4-writer wall / 1-writer wall (below 1: the database overlaps writers; above 1: lock
contention costs more than parallelism gains). SQLite always; PostgreSQL when
DISTILLSCALE_TEST_PG_URL is set (a fresh schema, dropped afterwards).

    .venv/bin/python bench/store_concurrency.py [N]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from distillscale.flops import FlopsLedger
from distillscale.study.store import CurveRow, RunOutcome, RunSpecRecord, open_store

N_WRITERS = 4
CURVE_STEPS = 10


def work(url: str, prefix: str, n: int, barrier, out) -> None:  # noqa: ANN001
    with open_store(url) as store:
        barrier.wait()
        start = time.time()
        for i in range(n):
            run_id = f"{prefix}-{i}"
            store.register(RunSpecRecord(run_id=run_id, kind="baseline", config="{}", study="b"))
            assert store.claim(run_id, prefix, lease_seconds=60)
            store.append_curve(
                run_id,
                [
                    CurveRow(step=s, tokens=s * 1024, train_loss=3.0, lr=1e-3)
                    for s in range(CURVE_STEPS)
                ],
            )
            assert store.complete(
                run_id, prefix, RunOutcome(loss=3.0, flops=FlopsLedger(supervised_training=1e12))
            )
        out.put((start, time.time()))


def measure(url: str, n: int, writers: int) -> float:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(writers)
    out = ctx.Queue()
    tag = uuid.uuid4().hex[:6]
    procs = [
        ctx.Process(target=work, args=(url, f"{tag}w{k}", n // writers, barrier, out))
        for k in range(writers)
    ]
    for p in procs:
        p.start()
    spans = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"writer exited with {p.exitcode}")
    return max(end for _, end in spans) - min(start for start, _ in spans)


def report(name: str, url: str, n: int) -> None:
    with open_store(url):
        pass  # create the schema outside the timed part
    one = measure(url, n, 1)
    four = measure(url, n, N_WRITERS)
    print(
        f"{name:10s} N={n}: 1 writer {one:.2f} s ({n / one:.0f} runs/s), "
        f"{N_WRITERS} writers {four:.2f} s ({n / four:.0f} runs/s), "
        f"overhead ratio {four / one:.2f}"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"machine {platform.node()} ({os.cpu_count()} CPUs, {platform.machine()}), commit {commit}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", str(Path(tmp) / "bench.sqlite"), n)
    pg = os.environ.get("DISTILLSCALE_TEST_PG_URL")
    if not pg:
        print("postgresql skipped: DISTILLSCALE_TEST_PG_URL is not set")
        return
    schema = f"ds_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(sa.make_url(pg))
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
        report("postgresql", url.render_as_string(hide_password=False), n)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
