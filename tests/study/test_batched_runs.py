"""A study trains same-shape runs together (executor.batch_runs) with the real trainer."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from rich.console import Console

from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec


def _losses(study: Path) -> dict[str, float]:
    with open(study / "runs.csv", newline="") as fh:
        return {r["run"]: float(r["loss"]) for r in csv.DictReader(fh)}


@pytest.mark.slow  # two real studies, a spawned torch worker each: ~30-60 s on 2 cores
def test_batched_study_gives_the_losses_of_single_runs(tmp_path, tiny_doc):
    quiet = Console(stderr=True, quiet=True)
    tiny_doc["executor"] = {"workers": 1, "max_attempts": 2}
    single = parse_spec({**tiny_doc, "executor": {**tiny_doc["executor"], "batch_runs": 1}})
    batched = parse_spec({**tiny_doc, "executor": {**tiny_doc["executor"], "batch_runs": 4}})
    assert batched.executor.batch_runs == 4
    a = run_study(single, tmp_path / "single", console=quiet, finish=False)
    b = run_study(batched, tmp_path / "batched", console=quiet, finish=False)
    assert a.failed == b.failed == 0 and a.done == b.done == a.runs
    la, lb = _losses(tmp_path / "single"), _losses(tmp_path / "batched")
    assert la.keys() == lb.keys() and len(la) >= 7
    for run, loss in la.items():
        assert lb[run] == pytest.approx(loss, rel=1e-5), run
    logs = [p.read_text() for p in (tmp_path / "batched" / "runs").glob("*/attempts.log")]
    assert len(logs) == len(la) and all(text.count("start") == 1 for text in logs)
    assert sum("batch=" in text for text in logs) >= 2  # some runs trained together
    assert not any("batch=" in p.read_text()
                   for p in (tmp_path / "single" / "runs").glob("*/attempts.log"))  # fmt: skip


class _InlineExecutor:
    """Runs each task at submit, in this process, and records it (fakes train in ms)."""

    def __init__(self, run_fn, tasks):
        self.run_fn, self.tasks, self.events = run_fn, tasks, []

    @property
    def free(self):
        return 2

    def submit(self, task):
        from distillscale.study.executors import Finished, Progress

        self.tasks.append(task)
        outcome = self.run_fn(
            task, lambda e: self.events.append(Progress(node_id=task.node_id, event=e))
        )
        self.events.append(Finished(outcome=outcome))

    def poll(self, timeout):
        events, self.events = self.events, []
        return events

    def close(self):
        pass


def test_scheduler_batches_same_shape_runs_and_keeps_outcomes_per_run(
    tmp_path, tiny_doc, monkeypatch
):
    from distillscale.runs.config import batch_key
    from distillscale.study import runner
    from distillscale.study.store import open_store

    from .fakes import NAN_MARKER, fast_run_fn

    tasks: list = []
    monkeypatch.setattr(runner, "make_executor", lambda spec, fn: _InlineExecutor(fn, tasks))
    monkeypatch.setenv(NAN_MARKER, "1")  # depth-1 baselines diverge: each fails alone
    tiny_doc["executor"] = {"workers": 2, "batch_runs": 3, "max_attempts": 3}
    spec = parse_spec(tiny_doc)
    quiet = Console(stderr=True, quiet=True)
    result = run_study(spec, tmp_path / "s", console=quiet, run_fn=fast_run_fn(), finish=False)
    batches = [t for t in tasks if t.members]
    assert batches and all(2 <= len(t.members) <= 3 for t in batches)
    for t in batches:
        assert len({batch_key(m.config) for m in t.members}) == 1
    with open(tmp_path / "s" / "runs.csv", newline="") as fh:
        rows = {r["run"]: r for r in csv.DictReader(fh)}
    store = open_store(f"sqlite:///{tmp_path / 's' / 'store.sqlite'}")
    records = {r.run_id: r for r in store.list_runs(study="tiny")}
    failed = {k for k, r in rows.items() if r["status"] == "failed"}
    assert failed and all(rows[k]["kind"] == "baseline" for k in failed)
    assert all(records[k].failure_reason.startswith("diverged") for k in failed)
    assert result.failed == len(failed) and result.done == result.runs - len(failed)
    assert all(records[k].attempts == 1 for k in rows)  # no retry of a diverged run
