"""A PostgreSQL restart under a running study: reconnect and carry on, or stop cleanly.

Issue 9.6: in 0.1.0 a study whose PostgreSQL server restarted died with exit 1 and a traceback.
Now the store retries (back-off 0.5 s doubling to 5 s) for ``$DISTILLSCALE_STORE_RETRY_SECONDS``
(default 60): a short outage costs nothing, a long one stops the study with exit 2 and one line,
and the rerun finishes it. Each test checks the counts the issue asks for: runs lost (not done
at the end), runs trained twice (to their last step in more than one attempt) and runs silently
wrong (a loss or curve other than the fake trainer's deterministic one).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from distillscale.study.graph import RunNode, build_graph
from distillscale.study.spec import parse_spec
from distillscale.study.store import RunOutcome, RunSpecRecord, open_store
from study.fakes import FINISHED_LOG, true_loss

from .helpers import cli_env, leaks, result_doc, run_cli, small_spec, start_cli, write_yaml
from .pg_server import ThrowawayPostgres

STEP_SECONDS = 0.1


def _done_runs(url: str) -> int:
    """Runs recorded done (0 while the schema is not there yet)."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM runs WHERE status = 'done'"))
                       .scalar_one())  # fmt: skip
    except sa.exc.DBAPIError:
        return 0
    finally:
        engine.dispose()


def _wait_for_done(url: str, proc: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 120
    while _done_runs(url) < count:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the study made no progress"
        time.sleep(0.2)


def _check_study(doc: dict[str, Any], url: str, study: Path) -> dict[str, int]:
    """Every run done once with the fake trainer's loss and curve; the fault counts."""
    graph = build_graph(parse_spec(doc))
    expected: dict[str, float] = {}
    for node in graph.runs:  # teachers come first in the graph
        teacher = expected.get(node.teacher_run) if node.teacher_run else None
        expected[node.run_id] = true_loss(node.config, teacher)
    counts = {"lost": 0, "trained_twice": 0, "wrong": 0}
    with open_store(url) as store:
        for node in graph.runs:
            assert isinstance(node, RunNode)
            record = store.get(node.run_id)
            if record is None or record.status != "done":
                counts["lost"] += 1
                continue
            log = study / "runs" / node.run_id / FINISHED_LOG
            if len(log.read_text().split()) != 1:
                counts["trained_twice"] += 1
            steps = [row.step for row in store.curve(node.run_id)]
            if record.loss != expected[node.run_id] or steps != list(
                range(1, node.config.steps + 1)
            ):
                counts["wrong"] += 1
        assert not store.list_runs(status="running")
    return counts


@pytest.mark.slow  # 30-50 s of wall time on a loaded two-core machine
def test_restart_within_the_bound_costs_nothing(pg: ThrowawayPostgres, tmp_path: Path) -> None:
    url = pg.create_database()
    doc = small_spec(store=url)
    spec = write_yaml(tmp_path / "study.yaml", doc)
    study = tmp_path / "study"
    proc = start_cli("run", str(spec), "--out", str(study), "--json", step_seconds=STEP_SECONDS)
    try:
        _wait_for_done(url, proc, 1)
        pg.stop()  # fault 1: the server goes away under the running study ...
        time.sleep(3.0)
        pg.start()  # ... and comes back 3 s later
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    # the driver met the outage and rode it out (not merely finished before it)
    assert "store unreachable: " in err and "store reachable again after " in err, err[-3000:]
    result = result_doc(subprocess.CompletedProcess(proc.args, 0, out, err))
    assert result["done"] == result["runs"] == 3
    assert _check_study(doc, url, study) == {"lost": 0, "trained_twice": 0, "wrong": 0}


@pytest.mark.slow
def test_outage_past_the_bound_exits_2_and_the_rerun_finishes(
    pg: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = pg.create_database()
    doc = small_spec(store=url)
    spec = write_yaml(tmp_path / "study.yaml", doc)
    study = tmp_path / "study"
    args = ("run", str(spec), "--out", str(study), "--json")
    env = cli_env(DISTILLSCALE_STORE_RETRY_SECONDS="3")
    proc = start_cli(*args, step_seconds=STEP_SECONDS, env=env)
    try:
        _wait_for_done(url, proc, 1)
        pg.stop()  # fault 2: the server stays away past the 3 s bound
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        if not pg.running():
            pg.start()
    shown = url.replace(url.split(":")[2].split("@")[0], "***")
    assert proc.returncode == 2, err[-3000:]
    assert out == ""
    assert "Traceback" not in err and "internal error" not in err
    assert f"store unreachable: {shown} for 3 s: " in err
    assert "rerun to resume" in err
    assert leaks(study, pg.secrets()) == [] and all(s not in err for s in pg.secrets())

    rerun = run_cli(*args, step_seconds=STEP_SECONDS)
    assert result_doc(rerun)["done"] == 3
    assert _check_study(doc, url, study) == {"lost": 0, "trained_twice": 0, "wrong": 0}


def _record(run_id: str) -> RunSpecRecord:
    return RunSpecRecord(run_id=run_id, kind="single", config=json.dumps({"id": run_id}))


def test_store_operations_ride_out_a_restart(pg: ThrowawayPostgres) -> None:
    """The Store API itself (what the driver and `distillscale train --store` use)."""
    url = pg.create_database()
    with open_store(url, retry_seconds=60) as store:
        store.register(_record("a"))
        pg.stop()
        restart = threading.Timer(2.0, pg.start)
        restart.start()
        try:
            started = time.monotonic()
            assert store.claim("a", "w1", 60)  # waits for the server, then claims
            assert time.monotonic() - started >= 1.0
        finally:
            restart.join()
        assert store.complete("a", "w1", RunOutcome(loss=2.5))
        record = store.get("a")
        assert record is not None and record.status == "done" and record.attempts == 1


def test_a_claim_committed_before_the_connection_broke_is_not_taken_twice(
    pg: ThrowawayPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg.create_database()
    with open_store(url, retry_seconds=30) as store:
        store.register(_record("a"))
        real = store._claim
        calls = []

        def commit_then_break(*args: Any) -> bool:
            calls.append(args)
            won = real(*args)
            if len(calls) == 1:  # the claim committed, then the reply was lost
                raise sa.exc.OperationalError(
                    "COMMIT", {}, Exception("server closed the connection")
                )
            return won

        monkeypatch.setattr(store, "_claim", commit_then_break)
        assert store.claim("a", "w1", 60)
        record = store.get("a")
        assert record is not None and record.claimed_by == "w1" and record.attempts == 1
        assert len(calls) == 1  # found held on the retry, not claimed again


def test_store_gives_up_after_the_bound(pg: ThrowawayPostgres) -> None:
    from distillscale.study.store import StoreUnreachable

    url = pg.create_database()
    with open_store(url, retry_seconds=1.5) as store:
        store.register(_record("a"))
        pg.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnreachable, match=r"store unreachable: .* for 1.5 s: .*rerun"):
            store.get("a")
        assert 1.5 <= time.monotonic() - started < 10
        started = time.monotonic()
        with pytest.raises(StoreUnreachable):  # given up: the next call tries once
            store.get("a")
        assert time.monotonic() - started < 1.0
        pg.start()
        record = store.get("a")  # and the store works again once the server is back
        assert record is not None and record.status == "pending"


def test_retry_bound_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from distillscale.errors import InputError

    monkeypatch.setenv("DISTILLSCALE_STORE_RETRY_SECONDS", "soon")
    with pytest.raises(InputError, match=r"\$DISTILLSCALE_STORE_RETRY_SECONDS: .* seconds >= 0"):
        open_store(tmp_path / "s.sqlite")
    with pytest.raises(InputError, match="retry_seconds"):
        open_store(tmp_path / "s.sqlite", retry_seconds=float("inf"))
