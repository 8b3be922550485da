import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from distillscale.cli import app, main
from distillscale.study.store import open_store

torch.set_num_threads(1)

TINY = [
    "--depth", "1", "--seq-len", "32", "--batch-size", "8", "--max-corpus-bytes", "1000000",
    "--val-fraction", "0.2", "--eval-tokens", "2048", "--device", "cpu", "--lr", "1e-2",
]  # fmt: skip


def train_json(args, workdir):
    result = CliRunner().invoke(app, ["train", *TINY, *args, "--workdir", str(workdir), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error(args, capsys):
    code = main(["train", *args])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("teacher")
    return train_json(["--tokens", "20000", "--kind", "teacher"], workdir), workdir


def test_json_run_record(teacher):
    doc, workdir = teacher
    cfg = doc["config"]
    for key in ("n_layers", "d_model", "n_heads", "vocab_size", "seq_len", "batch_size"):
        assert key in cfg
    assert (cfg["n_layers"], cfg["d_model"], cfg["vocab_size"], cfg["seq_len"]) == (1, 64, 256, 32)
    assert doc["status"] == "done" and doc["kind"] == "teacher"
    assert doc["tokens"] == 79 * 8 * 32  # rounded up to whole steps
    assert doc["flops"]["teacher_training"] == doc["flops"]["total"] > 0
    assert 0 < doc["loss"] < np.log(256)
    assert doc["tokens_per_second"] > 0 and doc["wall_seconds"] > 0
    assert (workdir / "checkpoint.pt").exists()


def test_rerun_resumes_finished_run(teacher):
    doc, workdir = teacher
    again = train_json(["--tokens", "20000", "--kind", "teacher"], workdir)
    assert again["loss"] == doc["loss"] and again["run"] == doc["run"]


def test_student_distils_from_teacher_path(teacher, tmp_path):
    _, workdir = teacher
    doc = train_json(
        ["--tokens", "2000", "--teacher", str(workdir), "--top-k", "8", "--kd", "js"], tmp_path
    )
    assert doc["kind"] == "student" and doc["status"] == "done"
    assert doc["config"]["kd"]["loss"] == "js" and doc["config"]["kd"]["top_k"] == 8
    assert doc["flops"]["teacher_inference"] > 0
    assert doc["teacher_loss"] == teacher[0]["loss"]


def test_store_records_run_and_resolves_teacher_by_id(teacher, tmp_path):
    store = tmp_path / "runs.sqlite"
    t = train_json(["--tokens", "4000", "--kind", "teacher", "--store", str(store)], tmp_path / "t")
    s = train_json(
        ["--tokens", "2000", "--teacher", t["run"], "--store", str(store)], tmp_path / "s"
    )
    with open_store(store) as opened:
        rt, rs = opened.get(t["run"]), opened.get(s["run"])
        assert (rt.status, rt.kind, rt.loss) == ("done", "teacher", t["loss"])
        assert (rs.status, rs.kind, rs.teacher_run_id) == ("done", "student", t["run"])
        assert rs.teacher_loss == t["loss"] and rs.params == s["params"]
        curve = opened.curve(s["run"])
        assert [c.step for c in curve] == list(range(1, 9))
        assert curve[-1].val_loss == s["loss"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--teacher", "no-such-run"], "--teacher 'no-such-run'"),
        (["--data", "/no/such/corpus"], "data.corpus"),
        (["--layers", "2", "--d-model", "100", "--heads", "3"], "not a multiple of"),
        (["--store", "postgresql+psycopg://u:secret@127.0.0.1:1/db"], "cannot open run store"),
        (["--top-k", "8"], "need a teacher"),
        (["--tokenizer", "bpe", "--vocab", "300", "--data", "/no/such/corpus"], "data.corpus"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(args, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["--tokens", "1000", "--seq-len", "32", "--device", "cpu"]
    if "--layers" not in args:
        base += ["--depth", "1"]
    code, err = error([*base, *args], capsys)
    assert code == 2, err
    assert fragment in err and "secret" not in err
    assert len(err.strip().splitlines()) <= 3  # one message (rich may wrap it)
    assert list(tmp_path.iterdir()) == []


def test_teacher_with_other_vocabulary_exits_2(tmp_path, capsys):
    tokens = (np.arange(50_000) * 7 % 300).astype(np.uint16)
    np.save(tmp_path / "tokens.npy", tokens)
    teacher_dir = tmp_path / "t"
    train_json(
        ["--tokens", "500", "--data", str(tmp_path / "tokens.npy"), "--vocab", "300"], teacher_dir
    )
    code, err = error(
        [*TINY, "--tokens", "500", "--teacher", str(teacher_dir), "--workdir", str(tmp_path / "s")],
        capsys,
    )
    assert code == 2 and "vocabulary 300" in err
    assert not (tmp_path / "s").exists()


def test_teacher_with_other_bpe_tokenizer_of_the_same_size_exits_2(tmp_path, capsys, monkeypatch):
    """Equal vocabulary sizes, different merges: the same ids would mean different text."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bpe = ["--tokenizer", "bpe", "--vocab", "300"]
    teacher_dir = tmp_path / "t"
    train_json([*bpe, "--tokens", "500"], teacher_dir)  # BPE trained on the stdlib corpus
    other = tmp_path / "other"
    other.mkdir()
    for i in range(40):
        (other / f"doc{i}.txt").write_text(f"zebra quokka {i} " * 200 + "lorem ipsum dolor " * 50)
    student = [*TINY, *bpe, "--tokens", "500", "--teacher", str(teacher_dir)]
    code, err = error([*student, "--data", str(other), "--workdir", str(tmp_path / "s")], capsys)
    assert code == 2 and "trained with another tokenizer" in " ".join(err.split())
    assert not (tmp_path / "s").exists()
    # the same tokenizer (same data, BPE rebuilt from its cache) distils as before
    doc = train_json([*bpe, "--tokens", "500", "--teacher", str(teacher_dir)], tmp_path / "ok")
    assert doc["status"] == "done"


def _failing_trainer(reason):
    """The real trainer, its result recorded as failed for ``reason`` (a study would store it)."""
    import dataclasses

    from distillscale.train.trainer import train_run

    def trainer(config, workdir, **kwargs):
        result = train_run(config, workdir, **kwargs)
        return dataclasses.replace(result, status="failed", failure_reason=reason, loss=None)

    return trainer


def test_store_records_failures_as_a_study_does(tmp_path, monkeypatch):
    """A diverged run is stored as ``diverged: ...``; a full disk is not counted as an attempt."""
    import distillscale.train as train

    store = tmp_path / "runs.sqlite"
    args = ["train", *TINY, "--tokens", "2000", "--store", str(store), "--workdir"]
    monkeypatch.setattr(train, "train_run", _failing_trainer("loss is nan at step 3"))
    assert CliRunner().invoke(app, [*args, str(tmp_path / "a")]).exit_code == 1
    with open_store(store) as opened:
        (record,) = opened.list_runs()
        assert record.status == "failed"
        assert record.failure_reason == "diverged: loss is nan at step 3"
    full = "disk full: no space left on device writing x; free space and rerun"
    monkeypatch.setattr(train, "train_run", _failing_trainer(full))
    work = tmp_path / "b"
    for _ in range(3):  # the attempts limit is 3: disk-full attempts are cut short
        result = CliRunner().invoke(app, [*args, str(work)])
        assert result.exit_code == 1, result.output
    with open_store(store) as opened:
        (record,) = opened.list_runs()
        assert (record.status, record.failure_reason, record.attempts) == ("failed", full, 4)
    monkeypatch.undo()
    result = CliRunner().invoke(app, [*args, str(work), "--json"])
    assert result.exit_code == 0, result.output
    with open_store(store) as opened:
        (record,) = opened.list_runs()
        assert record.status == "done" and record.loss == json.loads(result.stdout)["loss"]


def test_vocabulary_of_the_data_is_named_as_the_vocab_flag(tmp_path, capsys):
    """The trainer's error names ``shape.vocab_size``; the command line says ``--vocab``."""
    np.save(tmp_path / "tokens.npy", (np.arange(20_000) * 7 % 300).astype(np.uint16))
    data = str(tmp_path / "tokens.npy")
    code, err = error(
        [*TINY, "--tokens", "500", "--data", data, "--workdir", str(tmp_path / "w")], capsys
    )
    line = " ".join(err.split())
    assert code == 2
    assert line == (
        f"error: --vocab: the model has 256 tokens but data '{data}' with tokenizer 'byte' has "
        "300; use --vocab 300"
    )
    assert not (tmp_path / "w").exists()
