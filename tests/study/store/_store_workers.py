"""Worker functions for the multi-process store tests (importable by spawned children)."""

import os

from distillscale.flops import FlopsLedger
from distillscale.study.store import CurveRow, RunOutcome, open_store


def race(url, run_ids, worker, barrier, results):
    """Claim every run it can after all workers are ready; complete what it wins."""
    won = []
    with open_store(url) as store:
        barrier.wait()
        for run_id in run_ids:
            if store.claim(run_id, worker, lease_seconds=300):
                won.append(run_id)
                store.append_curve(
                    run_id,
                    [CurveRow(step=s, tokens=s * 8, train_loss=4.0, lr=1e-3) for s in range(3)],
                )
                done = store.complete(
                    run_id,
                    worker,
                    RunOutcome(loss=1.0 + len(worker), flops=FlopsLedger(student_training=1.0)),
                )
                assert done
    results.put((worker, won))


def claim_and_die(url, run_id, worker):
    """Claim with an already-expired lease, then die without completing or failing."""
    store = open_store(url)
    ok = store.claim(run_id, worker, lease_seconds=0)
    os._exit(0 if ok else 3)


def open_race(url, barrier):
    """Open (creating the schema) at the same moment as the other workers."""
    barrier.wait()
    with open_store(url) as store:
        store.list_runs()
