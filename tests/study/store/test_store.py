import json
import math

import pandas as pd
import pytest
import sqlalchemy as sa

from distillscale.errors import InputError
from distillscale.flops import FlopsLedger, count_params, family_shape, training_flops
from distillscale.study.store import (
    RUN_TABLE_COLUMNS,
    SCHEMA_VERSION,
    CurveRow,
    RunOutcome,
    RunSpecRecord,
    open_store,
)


def spec(run_id, kind="teacher", study="s1", teacher=None, depth=2, tokens=1000):
    shape = family_shape(depth)
    pc = count_params(shape)
    ledger = (
        FlopsLedger(student_training=training_flops(shape, tokens))
        if kind == "student"
        else FlopsLedger(teacher_training=training_flops(shape, tokens))
    )
    return RunSpecRecord(
        run_id=run_id,
        kind=kind,
        config=json.dumps({"depth": depth, "tokens": tokens}),
        study=study,
        n_layers=shape.n_layers,
        d_model=shape.d_model,
        n_heads=shape.n_heads,
        vocab_size=shape.vocab_size,
        seq_len=shape.seq_len,
        params=pc.non_embedding,
        params_total=pc.total,
        tokens=tokens,
        flops=ledger,
        teacher_run_id=teacher,
    )


def test_register_is_idempotent_and_get_round_trips(store):
    run = spec("a")
    assert store.register(run) is True
    assert store.register(run) is False
    rec = store.get("a")
    assert rec.status == "pending" and rec.attempts == 0 and rec.claimed_by is None
    assert rec.params == run.params and rec.tokens == 1000 and rec.n_layers == 2
    assert rec.flops_training == run.flops.teacher_training == rec.flops_total
    assert json.loads(rec.config) == {"depth": 2, "tokens": 1000}
    assert rec.created_at > 1.6e9  # UTC epoch seconds from the database clock
    assert store.get("missing") is None
    assert store.register_many([spec("b"), spec("a"), spec("c", study="s2")]) == 2
    assert {r.run_id for r in store.list_runs(study="s1")} == {"a", "b"}
    assert {r.run_id for r in store.list_runs()} == {"a", "b", "c"}


def test_unknown_teacher_is_input_error(store):
    with pytest.raises(InputError, match="teacher_run_id.*nope"):
        store.register(spec("s", kind="student", teacher="nope"))
    assert store.get("s") is None
    # within one call the order does not matter (the foreign key is checked at commit)
    assert store.register_many([spec("s", kind="student", teacher="t"), spec("t")]) == 2
    with pytest.raises(InputError, match="teacher_run_id"):
        store.register_many([spec("s2", kind="student", teacher="t2"), spec("x")])
    assert store.get("x") is None  # all or nothing


def test_bad_records_are_input_errors():
    with pytest.raises(InputError, match="kind"):
        RunSpecRecord(run_id="x", kind="teachr", config="{}")
    with pytest.raises(InputError, match="config"):
        RunSpecRecord(run_id="x", kind="teacher", config="{not json")
    with pytest.raises(InputError, match="loss"):
        RunOutcome(loss=float("nan"))


def test_claim_is_exclusive_and_done_is_final(store):
    store.register(spec("a"))
    assert store.claim("a", "w1", 60)
    assert not store.claim("a", "w2", 60)
    assert store.heartbeat("a", "w1", 60)
    assert not store.heartbeat("a", "w2", 60)
    rec = store.get("a")
    assert rec.status == "running" and rec.claimed_by == "w1" and rec.attempts == 1
    assert rec.claim_expires_at - rec.started_at == pytest.approx(60, abs=1)
    outcome = RunOutcome(loss=3.25, tokens=1024, wall_seconds=2.0, tokens_per_second=512.0)
    assert store.complete("a", "w1", outcome)
    assert store.complete("a", "w1", outcome)  # idempotent
    assert not store.complete("a", "w2", outcome)
    assert not store.claim("a", "w2", 60)
    rec = store.get("a")
    assert (rec.status, rec.loss, rec.tokens, rec.claim_expires_at) == ("done", 3.25, 1024, None)
    assert rec.finished_at >= rec.started_at
    with pytest.raises(InputError, match="not registered"):
        store.complete("zzz", "w1", outcome)


def test_expired_lease_is_taken_over_and_stale_result_rejected(store):
    store.register(spec("a"))
    assert store.claim("a", "dead", lease_seconds=0)  # expires at once
    assert store.claim("a", "live", lease_seconds=60)
    assert not store.heartbeat("a", "dead", 60)
    assert not store.complete("a", "dead", RunOutcome(loss=9.0))
    assert store.complete("a", "live", RunOutcome(loss=2.0))
    rec = store.get("a")
    assert (rec.claimed_by, rec.loss, rec.attempts) == ("live", 2.0, 2)


def test_slow_worker_result_kept_when_nobody_took_over(store):
    store.register(spec("a"))
    assert store.claim("a", "slow", lease_seconds=0)
    assert store.complete("a", "slow", RunOutcome(loss=2.5))
    assert store.get("a").loss == 2.5


def test_failed_runs_retry_until_attempts_run_out(store):
    store.register(spec("a"))
    for attempt in (1, 2):
        assert store.claim("a", f"w{attempt}", 60, max_attempts=2)
        assert store.fail("a", f"w{attempt}", f"nan loss {attempt}")
        assert store.fail("a", f"w{attempt}", f"nan loss {attempt}")  # idempotent
    rec = store.get("a")
    assert (rec.status, rec.failure_reason, rec.attempts) == ("failed", "nan loss 2", 2)
    assert not store.claim("a", "w3", 60, max_attempts=2)
    assert store.claim("a", "w3", 60, max_attempts=3)
    assert store.get("a").failure_reason is None


def test_dead_worker_out_of_attempts_is_marked_failed(store):
    store.register(spec("a"))
    assert store.claim("a", "w1", 0, max_attempts=1)
    assert not store.claim("a", "w2", 60, max_attempts=1)
    rec = store.get("a")
    assert rec.status == "failed" and "lease expired" in rec.failure_reason


def test_append_curve_overwrites_steps(store):
    store.register(spec("a"))
    rows = [CurveRow(step=s, tokens=64 * s, train_loss=5.0 - s, lr=1e-3) for s in range(1, 4)]
    assert store.append_curve("a", rows) == 3
    # a resumed run rewrites steps 3..4
    resumed = [
        CurveRow(step=3, tokens=192, train_loss=1.5, val_loss=1.7, lr=5e-4),
        CurveRow(step=4, tokens=256, train_loss=1.2, lr=4e-4),
    ]
    store.append_curve("a", resumed)
    got = store.curve("a")
    assert [r.step for r in got] == [1, 2, 3, 4]
    assert got[2] == resumed[0] and got[0] == rows[0]
    assert store.append_curve("a", []) == 0
    with pytest.raises(InputError, match="register the run"):
        store.append_curve("ghost", rows)


def test_complete_writes_result_and_curve_together(store):
    store.register(spec("a"))
    rows = [CurveRow(step=s, tokens=64 * s, train_loss=5.0 - s, lr=1e-3) for s in range(1, 4)]
    assert store.claim("a", "dead", lease_seconds=0)
    assert store.claim("a", "live", lease_seconds=60)
    assert not store.complete("a", "dead", RunOutcome(loss=9.0), rows)  # lost its claim
    assert store.curve("a") == []  # ... and wrote no curve either
    assert store.complete("a", "live", RunOutcome(loss=2.0), rows)
    assert store.get("a").status == "done" and store.curve("a") == rows


def test_complete_is_all_or_nothing(store):
    """A curve that cannot be written leaves the run unfinished, not done without a curve."""
    store.register(spec("a"))
    assert store.claim("a", "w", lease_seconds=60)
    bad = [CurveRow(step=1, tokens=64, train_loss=None, lr=1e-3)]  # NOT NULL column
    with pytest.raises(sa.exc.IntegrityError):
        store.complete("a", "w", RunOutcome(loss=2.0), bad)
    rec = store.get("a")
    assert (rec.status, rec.loss) == ("running", None) and store.curve("a") == []


def test_run_table_columns_and_teacher_join(store):
    store.register(spec("t", depth=3, tokens=5000))
    store.register(spec("s", kind="student", teacher="t", tokens=2000))
    store.register(spec("b", kind="baseline", tokens=2000))
    store.register(RunSpecRecord(run_id="c", kind="cache", config="{}", study="s1"))
    for run_id, loss in (("t", 2.0), ("s", 2.5), ("b", 2.7), ("c", None)):
        assert store.claim(run_id, "w", 60)
        assert store.complete(run_id, "w", RunOutcome(loss=loss))
    table = store.run_table("s1")
    assert isinstance(table, pd.DataFrame)
    assert tuple(table.columns) == RUN_TABLE_COLUMNS
    assert set(table["run"]) == {"t", "s", "b"}  # the cache is not a model run
    row = table.set_index("run").loc["s"]
    teacher = count_params(family_shape(3)).non_embedding
    assert row["teacher_loss"] == 2.0 and row["teacher_params"] == teacher
    assert row["teacher_tokens"] == 5000 and row["kind"] == "student"
    assert row["flops"] == pytest.approx(training_flops(family_shape(2), 2000))
    assert math.isnan(table.set_index("run").loc["b", "teacher_loss"])
    assert table["params"].dtype.kind == "i" and table["loss"].dtype.kind == "f"
    assert store.run_table("other").empty
    store.register(spec("p"))
    assert "p" not in set(store.run_table("s1")["run"])
    assert "p" in set(store.run_table("s1", status=None)["run"])


def test_list_runs_filters(store):
    store.register_many([spec("a"), spec("b"), spec("c", study="s2")])
    store.claim("a", "w", 60)
    assert [r.run_id for r in store.list_runs(status="running")] == ["a"]
    assert [r.run_id for r in store.list_runs(study="s2", status="pending")] == ["c"]
    with pytest.raises(InputError, match="status"):
        store.list_runs(status="finished")
    with pytest.raises(InputError, match="lease_seconds"):
        store.claim("b", "w", -1)


def test_reopen_keeps_runs_and_refuses_newer_schema(store_url):
    with open_store(store_url) as s:
        s.register(spec("a"))
    with open_store(store_url) as s:
        assert s.get("a") is not None
        with s._engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
                {"v": str(SCHEMA_VERSION + 1)},
            )
    with pytest.raises(InputError, match="newer"):
        open_store(store_url)


def test_a_study_lists_its_current_runs_and_its_stale_ones_on_request(store):
    store.register_many([spec("a"), spec("b"), spec("c"), spec("x", study="s2")])
    assert store.study_runs("s1") is None  # never recorded: the runs named with the study
    assert [r.run_id for r in store.list_runs(study="s1")] == ["a", "b", "c"]
    store.set_study_runs("s1", ["b", "c", "x"])  # a spec may share a run registered by another
    assert store.study_runs("s1") == {"b", "c", "x"}
    assert {r.run_id for r in store.list_runs(study="s1")} == {"b", "c", "x"}
    assert {r.run_id for r in store.list_runs(study="s1", stale=True)} == {"a", "b", "c", "x"}
    assert set(store.run_table("s1", status=None)["run"]) == {"b", "c", "x"}
    assert set(store.run_table("s1", status=None, stale=True)["run"]) == {"a", "b", "c", "x"}
    store.set_study_runs("s1", ["c"])  # replaced, not added to
    assert {r.run_id for r in store.list_runs(study="s1")} == {"c"}
    assert {r.run_id for r in store.list_runs(study="s2")} == {"x"}  # s2 never recorded


def test_the_first_driver_records_the_study_directory(store):
    assert store.record_study_dir("s1", "/data/a", "host1") == ("/data/a", "host1")
    assert store.record_study_dir("s1", "/data/b", "host2") == ("/data/a", "host1")
    store.move_study_dir("s1", "/data/b", "host2")
    assert store.record_study_dir("s1", "/data/c", "host3") == ("/data/b", "host2")
    assert store.record_study_dir("s2", "/data/c", "host3") == ("/data/c", "host3")
