from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from rich.console import Console

from distillscale.errors import InputError
from distillscale.study.graph import build_graph
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec
from distillscale.study.store import open_store

from .fakes import CRASH_MARKER, DISK_FULL_MARKER, NAN_MARKER, fast_run_fn, true_loss


def _quiet() -> Console:
    return Console(stderr=True, quiet=True)


def _rows(study: Path) -> dict[str, dict[str, str]]:
    with open(study / "runs.csv", newline="") as fh:
        return {r["run"]: r for r in csv.DictReader(fh)}


def test_study_runs_every_node_once_and_writes_tables(tmp_path, tiny_doc):
    spec = parse_spec(tiny_doc)
    graph = build_graph(spec)
    result = run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    assert result.runs == len(graph.runs) == result.done
    assert result.failed == 0
    assert result.trained == len(graph.runs) + len(graph.caches)
    rows = _rows(tmp_path / "s")
    assert set(rows) == {r.run_id for r in graph.runs}
    teachers = {r.run_id: r for r in graph.runs if r.kind == "teacher"}
    for node in graph.runs:
        row = rows[node.run_id]
        assert row["status"] == "done"
        teacher_loss = None
        if node.kind == "student":
            teacher_loss = true_loss(teachers[node.teacher_run].config)
            assert float(row["teacher_loss"]) == teacher_loss
            assert int(row["teacher_params"]) == teachers[node.teacher_run].params
        assert float(row["loss"]) == true_loss(node.config, teacher_loss)
        attempts = (tmp_path / "s" / "runs" / node.run_id / "attempts.log").read_text()
        assert attempts.count("start") == 1
    ledger = json.loads((tmp_path / "s" / "ledger.json").read_text())
    planned = graph.ledger.as_dict()
    assert ledger["planned"] == planned
    assert ledger["teacher_training"] == planned["teacher_training"]
    assert ledger["logit_cache"] == 1e6 * len(graph.caches)
    with open(tmp_path / "s" / "curves.csv") as fh:
        curve = list(csv.DictReader(fh))
    assert {r["run"] for r in curve} == set(rows)
    assert json.loads((tmp_path / "s" / "spec.json").read_text())["name"] == "tiny"


def test_rerun_skips_done_runs(tmp_path, tiny_doc):
    spec = parse_spec(tiny_doc)
    run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    before = (tmp_path / "s" / "runs.csv").read_text()
    again = run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    assert again.trained == 0
    assert again.done == again.runs
    assert (tmp_path / "s" / "runs.csv").read_text() == before


def test_diverged_run_fails_without_retry_and_others_finish(tmp_path, tiny_doc, monkeypatch):
    monkeypatch.setenv(NAN_MARKER, "1")  # baselines of depth 1 diverge
    spec = parse_spec(tiny_doc)
    graph = build_graph(spec)
    result = run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    baselines = [r for r in graph.runs if r.kind == "baseline"]
    assert result.failed == len(baselines)
    assert all("diverged" in reason for reason in result.failures.values())
    store = open_store(f"sqlite:///{tmp_path / 's' / 'store.sqlite'}")
    for b in baselines:
        record = store.get(b.run_id)
        assert record.status == "failed" and record.attempts == 1
    rows = _rows(tmp_path / "s")
    assert {r["status"] for r in rows.values() if r["kind"] != "baseline"} == {"done"}


def test_disk_full_stops_with_input_error_and_keeps_the_store(tmp_path, tiny_doc, monkeypatch):
    monkeypatch.setenv(DISK_FULL_MARKER, "student")
    spec = parse_spec(tiny_doc)
    graph = build_graph(spec)
    with pytest.raises(
        InputError, match="^disk full: no space left on device writing .*; free space and rerun"
    ):
        run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    store = open_store(f"sqlite:///{tmp_path / 's' / 'store.sqlite'}")
    teachers = [r for r in graph.runs if r.kind == "teacher"]
    assert all(store.get(t.run_id).status == "done" for t in teachers)
    assert any(
        (store.get(r.run_id).failure_reason or "").startswith("disk full: no space left")
        for r in graph.runs
        if r.kind == "student"
    )
    assert _rows(tmp_path / "s")[teachers[0].run_id]["status"] == "done"
    monkeypatch.delenv(DISK_FULL_MARKER)  # space freed: the rerun finishes the study
    again = run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    assert again.done == again.runs and again.failed == 0
    for t in teachers:
        log = (tmp_path / "s" / "runs" / t.run_id / "attempts.log").read_text()
        assert log.count("start") == 1  # finished teachers were not retrained


def test_attempts_cut_short_by_a_dead_driver_do_not_exhaust_retries(tmp_path, tiny_doc):
    from distillscale.study.runner import _register, open_study_store, prepare_study

    tiny_doc["executor"].update(max_attempts=1, lease_seconds=1)
    spec, study = prepare_study(parse_spec(tiny_doc), tmp_path / "s")
    graph = build_graph(spec)
    store = open_study_store(spec, study)
    _register(store, spec, graph)
    teacher = next(r for r in graph.runs if r.kind == "teacher")
    assert store.claim(teacher.run_id, "dead-driver", 1, max_attempts=1)  # never heartbeats
    result = run_study(spec, study, console=_quiet(), run_fn=fast_run_fn(), finish=False)
    assert result.failed == 0 and result.done == result.runs
    assert store.get(teacher.run_id).attempts == 2


def _blocked_study(tmp_path, tiny_doc, max_attempts: int):
    from distillscale.study.runner import open_study_store, write_tables

    tiny_doc["executor"]["max_attempts"] = max_attempts
    spec = parse_spec(tiny_doc)
    graph = build_graph(spec)
    result = run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    store = open_study_store(spec, tmp_path / "s")
    rows = write_tables(store, spec, graph, tmp_path / "s")
    return spec, graph, store, result, rows


def test_runs_blocked_by_a_failed_teacher_are_failed_with_the_reason_and_retaken_later(
    tmp_path, tiny_doc, monkeypatch
):
    from distillscale.study.finish import fit_study

    monkeypatch.setenv(CRASH_MARKER, "2")  # the depth-2 teacher crashes; one attempt allowed
    spec, graph, store, result, rows = _blocked_study(tmp_path, tiny_doc, max_attempts=1)
    dead = next(r for r in graph.runs if r.kind == "teacher" and r.config.shape.n_layers == 2)
    blocked = [r for r in graph.runs if r.teacher_run == dead.run_id]
    assert blocked and all(r.kind == "student" for r in blocked)
    label = f"teacher {dead.label}"
    assert result.failures[label].startswith("RuntimeError: fake crash")
    assert result.failed == len(result.failures) == 1 + len(blocked)
    assert result.done == result.runs - result.failed
    reasons = {store.get(r.run_id).failure_reason for r in blocked}
    assert len(reasons) == 1
    (reason,) = reasons
    assert reason.startswith("not run: its dependency ") and reason.endswith(" failed")
    assert sorted(v for v in result.failures.values() if v.startswith("not run:")) == [
        reason
    ] * len(blocked)
    table = _rows(tmp_path / "s")
    for r in blocked:
        record = store.get(r.run_id)
        assert record.status == "failed" and record.loss is None
        assert table[r.run_id]["status"] == "failed" and table[r.run_id]["loss"] == ""
        assert not (tmp_path / "s" / "runs" / r.run_id / "attempts.log").exists()
    caches = [c for c in graph.caches if c.teacher_run == dead.run_id]
    assert all(store.get(c.cache_id).status == "failed" for c in caches)
    _, _, notes = fit_study(spec, graph, rows)
    for r in blocked:
        assert (
            f"student {r.label} ({r.run_id}): failed: {reason}" in notes["missing"]["distillation"]
        )
        assert f"student run {r.run_id} failed; left out of the fits" in notes["warnings"]

    # a rerun with the teacher still failing changes nothing and trains nothing
    before = store.list_runs(study=spec.name)
    again = run_study(spec, tmp_path / "s", console=_quiet(), run_fn=fast_run_fn(), finish=False)
    assert again.trained == 0 and again.failures == result.failures
    assert store.list_runs(study=spec.name) == before

    # the teacher is fixed and may try again: the blocked runs are retaken and finish
    monkeypatch.delenv(CRASH_MARKER)
    _, _, _, fixed, rows = _blocked_study(tmp_path, tiny_doc, max_attempts=2)
    assert fixed.failures == {} and fixed.failed == 0 and fixed.done == fixed.runs
    assert fixed.trained == 1 + len(caches) + len(blocked)
    for r in blocked:
        record = store.get(r.run_id)
        assert record.status == "done" and record.failure_reason is None
        assert record.loss == pytest.approx(
            true_loss(r.config, store.get(dead.run_id).loss), rel=1e-12
        )
        log = (tmp_path / "s" / "runs" / r.run_id / "attempts.log").read_text()
        assert log.count("start") == 1 and "attempt=1 " in log  # the block is no attempt
    assert {r["status"] for r in rows} == {"done"}


def test_a_training_error_in_a_study_names_the_spec_key_not_the_train_flag(tmp_path, tiny_doc):
    """The trainer's vocabulary error reaches a study as ``data.vocab_size``, not ``--vocab``.

    The real trainer, on a token file of 300 token ids (the default byte tokenizer makes the
    models' vocabulary 256): the run fails before training, the study stops, and both its
    error and the run's stored failure say the spec's fix.
    """
    import numpy as np

    np.save(tmp_path / "tokens.npy", (np.arange(20_000) * 7 % 300).astype(np.uint16))
    tiny_doc["data"] = {"seq_len": 8, "corpus": str(tmp_path / "tokens.npy")}
    tiny_doc["executor"]["workers"] = 1
    out = tmp_path / "study"
    with pytest.raises(InputError) as info:
        run_study(parse_spec(tiny_doc), out, console=_quiet())
    fix = (
        "data.vocab_size: the model has 256 tokens but data "
        f"'{tmp_path / 'tokens.npy'}' with tokenizer 'byte' has 300; set data.vocab_size: 300 "
        "and data.tokenizer: bpe (bytes have 256 tokens)"
    )
    assert fix in str(info.value)
    assert "--vocab" not in str(info.value) and "shape.vocab_size" not in str(info.value)
    store = open_store(out / "store.sqlite", create=False)
    reasons = [r.failure_reason for r in store.list_runs() if r.status == "failed"]
    store.close()
    assert reasons and all(fix in reason for reason in reasons)


def test_a_study_directory_error_names_out_for_python_and_the_flag_for_the_cli(tmp_path, tiny_doc):
    from distillscale.cli.errors import cli_message

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError) as info:
        run_study(parse_spec(tiny_doc), tmp_path, run_fn=fast_run_fn(), console=_quiet())
    assert str(info.value).startswith(f"out={str(tmp_path)!r}: is not empty")
    assert str(info.value).endswith("or the out= of an earlier run of this study")
    line = cli_message(info.value)
    assert line.startswith(f"--out {tmp_path}: is not empty")
    assert line.endswith("or the --out of an earlier run of this study")
