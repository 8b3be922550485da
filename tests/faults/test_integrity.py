"""Damaged checkpoints and logit caches are detected by checksum and rebuilt, never used.

Issue 9, item 2 (measured on 0.1.0): a truncated checkpoint stopped the study at every rerun;
a truncated or random cache failed its students (5 attempts each, or a fatal stop) and was
never rebuilt; a few flipped bytes in a cache were read silently (student losses off by up to
0.17 nats); a flipped byte in a checkpoint loaded as other weights. Each test counts the faults
it injects and the runs lost or silently wrong (``conftest.py``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch
from rich.console import Console

from distillscale.errors import DamagedFile
from distillscale.flops import family_shape
from distillscale.study.graph import build_graph
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec
from distillscale.train import DataConfig, KDConfig, RunConfig, build_logit_cache, train_run
from distillscale.train.data import load_corpus
from distillscale.train.logit_cache import open_logit_cache
from distillscale.train.trainer import CHECKPOINT, load_model, load_teacher

from ._fakes import checked_run_fn

DATA = DataConfig(max_corpus_bytes=300_000, val_fraction=0.2)
STEPS = 12


def tiny_config(**kw) -> RunConfig:
    """A ~16k-parameter model on 300 KB of the stdlib: milliseconds per step."""
    torch.set_num_threads(1)
    defaults = dict(
        kind="single",
        shape=family_shape(1, aspect=32, head_dim=32, seq_len=32),
        tokens=8 * 32 * 20,
        batch_size=8,
        lr=1e-2,
        data=DATA,
        eval_every=10,
        eval_tokens=2048,
        device="cpu",
        checkpoint_every=10,
    )
    defaults.update(kw)
    return RunConfig(**defaults)


class Stop(Exception):
    pass


def _stop_at(step: int):
    def progress(event) -> None:
        if event.step == step:
            raise Stop

    return progress


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A finished tiny teacher: its config, result and TeacherRef."""
    config = tiny_config(kind="teacher")
    result = train_run(config, tmp_path_factory.mktemp("teacher"))
    return config, result, load_teacher(result.checkpoint)


@pytest.fixture(scope="module")
def cache(teacher, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache") / "t.logits"
    build_logit_cache(
        teacher[2], DATA, tokens=8 * 32 * STEPS, seq_len=32, top_k=16, path=path, batch_size=8
    )
    return path


def _flip(path: Path, offset: int, mask: int = 0x04) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


# -- checkpoints ---------------------------------------------------------------------------------


def test_a_flipped_byte_in_a_checkpoint_is_caught(teacher, tmp_path, tally):
    """torch.load does not check the zip CRCs: without a checksum the flip loads as weights."""
    _, result, _ = teacher
    path = tmp_path / CHECKPOINT
    shutil.copy(result.checkpoint, path)
    weights = load_model(path).state_dict()
    data = path.read_bytes()
    at = data.index(b"data/0") + 400  # inside the first tensor record
    _flip(path, at)
    tally["faults"] += 1
    with pytest.raises(DamagedFile, match=f"checkpoint {path}: damaged") as info:
        load_model(path)
    assert info.value.path == str(path)
    with pytest.raises(DamagedFile):
        load_teacher(path)
    _flip(path, at)  # restored: loads again, with the same weights
    again = load_model(path).state_dict()
    assert all(torch.equal(weights[k], again[k]) for k in weights)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_checkpoint_is_moved_aside_and_the_run_retrained(damage, tmp_path, caplog, tally):
    config = tiny_config()
    reference = train_run(config, tmp_path / "ref")
    with pytest.raises(Stop):
        train_run(config, tmp_path / "run", progress=_stop_at(10))
    path = tmp_path / "run" / CHECKPOINT
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        _flip(path, path.read_bytes().index(b"data/0") + 400)
    tally["faults"] += 1
    with caplog.at_level(logging.WARNING):
        result = train_run(config, tmp_path / "run")
    assert result.status == "done"
    assert result.loss == reference.loss and result.curve == reference.curve
    tally["lost"] += result.status != "done"
    tally["wrong"] += result.loss != reference.loss
    assert (tmp_path / "run" / f"{CHECKPOINT}.damaged").exists()
    assert str(path) in caplog.text and "training from step 0" in caplog.text
    load_model(path)  # the new checkpoint verifies


# -- logit caches --------------------------------------------------------------------------------


def _open(path: Path):
    corpus = load_corpus(DATA)
    return open_logit_cache(
        path, data_hash=corpus.data_hash, vocab_size=256, seq_len=32, seed=DATA.seed,
        sequences=8 * STEPS, top_k=None,
    )  # fmt: skip


def _damage_cache(path: Path, damage: str) -> None:
    data = bytearray(path.read_bytes())
    start = 16 + int.from_bytes(data[8:16], "little")  # the arrays
    logp_bytes = 8 * STEPS * 32 * 16 * 2
    if damage == "logp":  # a few high bits of float16 log-probabilities
        for i in (101, 2001, 4001):
            data[start + 2 * i + 1] ^= 0x04
    elif damage == "index":
        data[start + logp_bytes + 7] ^= 0x01
    elif damage == "log_rest":
        data[-3] ^= 0x10
    elif damage == "header":  # a digit of the header JSON (still valid JSON)
        at = data.index(b'"seed": ') + len(b'"seed": ')
        data[at] = ord("9") if data[at] != ord("9") else ord("8")
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "random":
        data = bytearray(os.urandom(len(data)))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["logp", "index", "log_rest", "header", "truncate", "random"])
def test_a_damaged_cache_is_refused_naming_the_file(cache, damage, tmp_path, tally):
    path = tmp_path / "t.logits"
    shutil.copy(cache, path)
    _open(path)  # intact: opens
    _damage_cache(path, damage)
    tally["faults"] += 1
    with pytest.raises(DamagedFile, match=f"logit cache {path}") as info:
        _open(path)
    assert info.value.path == str(path)


def test_a_student_never_trains_on_a_bit_rotted_cache(teacher, cache, tmp_path, tally):
    """Before checksums the student trained and finished with another loss, silently."""
    path = tmp_path / "t.logits"
    shutil.copy(cache, path)
    _damage_cache(path, "logp")
    tally["faults"] += 1
    student = tiny_config(
        kind="student", tokens=8 * 32 * STEPS, teacher=teacher[2], teacher_cache=str(path),
        kd=KDConfig(top_k=16),
    )  # fmt: skip
    with pytest.raises(DamagedFile, match="fail their SHA-256"):
        train_run(student, tmp_path / "student")


def test_checksum_cost_is_small_next_to_a_read(cache, tmp_path):
    """Opening verifies every chunk a student reads: a few ms for this cache."""
    import time

    t0 = time.perf_counter()
    for _ in range(5):
        _open(cache)
    per_open = (time.perf_counter() - t0) / 5
    assert per_open < 0.5, per_open


# -- studies (fast fakes that check checksums like the real trainer) ---------------------------


def _quiet() -> Console:
    return Console(stderr=True, quiet=True)


def _doc(tiny_doc: dict) -> dict:
    tiny_doc["executor"].update(max_attempts=1)  # a wait that counted would fail the run
    tiny_doc["students"]["teachers"] = ["d1-m0.05"]
    tiny_doc["baselines"] = {"enabled": False}
    return tiny_doc


@pytest.fixture
def tiny_doc() -> dict:
    import copy

    from study.specs import TINY

    return copy.deepcopy(TINY)


def _records(study: Path) -> dict[str, tuple]:
    db = sqlite3.connect(study / "store.sqlite")
    rows = db.execute("select run_id, kind, status, attempts, loss, failure_reason from runs")
    out = {r[0]: r[1:] for r in rows}
    db.close()
    return out


def _reset(study: Path, run_ids: list[str]) -> None:
    """Make finished runs pending again, as if the study had stopped before them."""
    db = sqlite3.connect(study / "store.sqlite")
    for run_id in run_ids:
        db.execute(
            "update runs set status='pending', loss=NULL, attempts=0 where run_id=?", (run_id,)
        )
        shutil.rmtree(study / "runs" / run_id, ignore_errors=True)
    db.commit()
    db.close()


def _settle(study: Path, before: dict[str, tuple], tally) -> None:
    after = _records(study)
    lost = [r for r, v in after.items() if v[1] != "done"]
    wrong = [r for r, v in after.items() if v[1] == "done" and v[3] != before[r][3]]
    tally["lost"] += len(lost)
    tally["wrong"] += len(wrong)
    assert not lost and not wrong, (lost, wrong, after)


def test_study_rebuilds_a_damaged_cache_before_its_students(tmp_path, tiny_doc, tally, caplog):
    spec = parse_spec(_doc(tiny_doc))
    graph = build_graph(spec)
    study = tmp_path / "s"
    run_study(spec, study, console=_quiet(), run_fn=checked_run_fn(), finish=False)
    reference = _records(study)
    students = [r.run_id for r in graph.runs if r.kind == "student"]
    (cache,) = graph.caches
    _reset(study, students)
    for damage in ("flip", "truncate", "delete"):
        path = study / cache.path
        if damage == "flip":
            _flip(path, 10, 0x01)
        elif damage == "truncate":
            path.write_bytes(path.read_bytes()[:5])
        else:
            path.unlink()
        tally["faults"] += 1
        with caplog.at_level(logging.WARNING):
            result = run_study(spec, study, console=_quiet(), run_fn=checked_run_fn(), finish=False)
        assert result.done == result.runs and result.failed == 0
        _settle(study, reference, tally)
        records = _records(study)
        assert all(records[s][2] >= 1 for s in students)  # waited, not failed (max_attempts 1)
        if damage != "delete":
            assert (study / f"{cache.path}.damaged").exists()
            assert f"{cache.path} is damaged" in caplog.text
        _reset(study, students)


def test_study_retrains_a_teacher_whose_damaged_checkpoint_a_cache_needs(tmp_path, tiny_doc, tally):
    """The teacher is done but its cache is not: the teacher is retrained, then the cache."""
    spec = parse_spec(_doc(tiny_doc))
    graph = build_graph(spec)
    study = tmp_path / "s"
    run_study(spec, study, console=_quiet(), run_fn=checked_run_fn(), finish=False)
    reference = _records(study)
    (cache,) = graph.caches
    students = [r.run_id for r in graph.runs if r.kind == "student"]
    _reset(study, [*students, cache.cache_id])
    (study / f"{cache.path}.json").unlink()
    teacher = study / "runs" / cache.teacher_run
    (teacher / "checkpoint.pt").write_text('{"loss": 1.0, "sha256": "0"}')  # damaged
    tally["faults"] += 1
    result = run_study(spec, study, console=_quiet(), run_fn=checked_run_fn(), finish=False)
    assert result.done == result.runs and result.failed == 0
    _settle(study, reference, tally)
    assert (teacher / "checkpoint.pt.damaged").exists()
    assert (teacher / "attempts.log").read_text().count("start") == 2  # retrained once
    assert _records(study)[cache.cache_id][2] == 2  # waited once, then built (max_attempts 1)


def test_finished_runs_with_damaged_checkpoints_stay_done(tmp_path, tiny_doc, tally):
    """Nothing needs a finished run's checkpoint once its students are done: no retraining."""
    spec = parse_spec(_doc(tiny_doc))
    study = tmp_path / "s"
    run_study(spec, study, console=_quiet(), run_fn=checked_run_fn(), finish=False)
    reference = _records(study)
    logs = {p: p.read_text() for p in study.glob("runs/*/attempts.log")}
    for checkpoint in study.glob("runs/*/checkpoint.pt"):
        checkpoint.write_text("damaged")
        tally["faults"] += 1
    result = run_study(spec, study, console=_quiet(), run_fn=checked_run_fn(), finish=False)
    assert result.done == result.runs and result.trained == 0
    _settle(study, reference, tally)
    assert {p: p.read_text() for p in logs} == logs


def test_a_cache_damaged_again_after_its_rebuild_stops_the_study(tmp_path, tiny_doc, monkeypatch):
    """A disk that damages every write: one rebuild per session, then a clear stop."""
    from distillscale.errors import InputError

    spec = parse_spec(_doc(tiny_doc))
    graph = build_graph(spec)
    study = tmp_path / "s"
    monkeypatch.setenv("FAKE_DAMAGE_CACHES", "1")
    with pytest.raises(InputError, match="damaged again after it was rebuilt"):
        run_study(spec, study, console=_quiet(), run_fn=checked_run_fn(), finish=False)
    (cache,) = graph.caches
    assert json.loads(json.dumps(_records(study)[cache.cache_id][1])) == "done"
