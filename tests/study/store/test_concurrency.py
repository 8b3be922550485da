import multiprocessing as mp

from _store_workers import claim_and_die, open_race, race  # sibling helper module

from distillscale.flops import FlopsLedger
from distillscale.study.store import RunOutcome, RunSpecRecord, open_store

N_WORKERS = 4
N_RUNS = 24


def test_processes_racing_never_both_win(store_url):
    ids = [f"run{i:02d}" for i in range(N_RUNS)]
    with open_store(store_url) as store:
        store.register_many(RunSpecRecord(run_id=i, kind="baseline", config="{}") for i in ids)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(N_WORKERS)
    results = ctx.Queue()
    workers = [f"w{'x' * k}" for k in range(N_WORKERS)]  # loss = 1 + len(worker) tells who won
    procs = [ctx.Process(target=race, args=(store_url, ids, w, barrier, results)) for w in workers]
    for p in procs:
        p.start()
    won = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    claimed = [run for runs in won.values() for run in runs]
    assert sorted(claimed) == ids  # every run won exactly once
    with open_store(store_url) as store:
        for worker, runs in won.items():
            for run_id in runs:
                rec = store.get(run_id)
                assert (rec.status, rec.claimed_by, rec.attempts) == ("done", worker, 1)
                assert rec.loss == 1.0 + len(worker)  # the winner's result, not lost
                assert len(store.curve(run_id)) == 3


def test_dead_process_claim_is_taken_over(store_url):
    with open_store(store_url) as store:
        store.register(RunSpecRecord(run_id="r", kind="teacher", config="{}"))
    ctx = mp.get_context("spawn")
    dead = ctx.Process(target=claim_and_die, args=(store_url, "r", "dead"))
    dead.start()
    dead.join(timeout=60)
    assert dead.exitcode == 0  # it won the claim, then died
    with open_store(store_url) as store:
        rec = store.get("r")
        assert (rec.status, rec.claimed_by) == ("running", "dead")
        assert store.claim("r", "heir", lease_seconds=60)
        assert store.complete(
            "r", "heir", RunOutcome(loss=2.0, flops=FlopsLedger(teacher_training=3.0))
        )
        rec = store.get("r")
        assert (rec.status, rec.claimed_by, rec.attempts, rec.loss) == ("done", "heir", 2, 2.0)
        assert rec.flops_training == 3.0 and rec.flops_total == 3.0


def test_openers_create_schema_concurrently(store_url):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(N_WORKERS)
    procs = [ctx.Process(target=open_race, args=(store_url, barrier)) for _ in range(N_WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    with open_store(store_url) as store:
        assert store.list_runs() == []
