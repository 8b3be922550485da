"""`distillscale train --teacher DIR|hf:ID`: a transformers teacher from the command line."""

import json

import pytest
import torch
from typer.testing import CliRunner

from distillscale.cli import app, main
from hf_tiny import make_model, write_corpus

pytest.importorskip("transformers")
torch.set_num_threads(1)

ARGS = [
    "--depth", "1", "--seq-len", "32", "--batch-size", "8", "--val-fraction", "0.2",
    "--eval-tokens", "512", "--device", "cpu", "--tokens", "1536",
]  # fmt: skip


@pytest.fixture(scope="module")
def hf_teacher(tmp_path_factory):
    root = tmp_path_factory.mktemp("hfcli")
    return make_model(root / "gpt2"), write_corpus(root / "corpus")


def test_train_distils_from_hf_directory(hf_teacher, tmp_path):
    model, corpus = hf_teacher
    args = ["train", *ARGS, "--data", str(corpus), "--teacher", str(model)]
    result = CliRunner().invoke(app, [*args, "--workdir", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["kind"] == "student" and record["status"] == "done"
    assert record["flops"]["teacher_inference"] > 0
    assert len(record["teacher_run_id"]) == 16


def _error(args, capsys):
    code = main(["train", *ARGS, *args])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def test_hub_id_offline_exits_2_in_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    code, err = _error(["--teacher", "hf:gpt2-no-such-cached-copy"], capsys)
    assert code == 2, err
    assert "cannot be fetched from the Hugging Face hub" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3
    assert list(tmp_path.iterdir()) == []


def test_vocab_other_than_the_teachers_exits_2(hf_teacher, capsys, tmp_path):
    model, corpus = hf_teacher
    code, err = _error(
        ["--data", str(corpus), "--teacher", str(model), "--vocab", "256",
         "--workdir", str(tmp_path / "s")],
        capsys,
    )  # fmt: skip
    assert code == 2 and "--vocab 256" in err and "300 tokens" in err
    assert not (tmp_path / "s").exists()
