"""`distillscale train --hf-config CFG --depth N`: a transformers model scaled by the dial."""

import json

import pytest
import torch
from typer.testing import CliRunner

from distillscale.cli import app, main
from distillscale.flops import training_flops
from distillscale.runs.config import shape_from_dict
from hf_tiny import make_model, make_tokenizer, write_config, write_corpus

pytest.importorskip("transformers")
torch.set_num_threads(1)

ARGS = [
    "--seq-len", "16", "--batch-size", "4", "--val-fraction", "0.2",
    "--eval-tokens", "256", "--device", "cpu", "--tokens", "256",
]  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hfcli")
    tok = make_tokenizer()
    return {
        "bytes": write_config(root / "bytes"),
        "llama": write_config(root / "llama", "llama", vocab_size=len(tok)),
        "teacher": make_model(root / "teacher", tokenizer=tok),
        "corpus": write_corpus(root / "corpus"),
    }


def _train(args, tmp_path):
    result = CliRunner().invoke(
        app, ["train", *ARGS, *args, "--workdir", str(tmp_path / "s"), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_a_scaled_config_on_bytes(inputs, tmp_path):
    record = _train(
        ["--hf-config", str(inputs["bytes"] / "config.json"), "--depth", "3",
         "--data", str(inputs["corpus"])],
        tmp_path,
    )  # fmt: skip
    assert record["status"] == "done" and record["kind"] == "single"
    cfg = record["config"]
    assert (cfg["hf_config"]["n_layer"], cfg["hf_config"]["n_embd"]) == (3, 48)
    assert (cfg["n_layers"], cfg["d_model"], cfg["n_heads"]) == (3, 48, 3)
    shape = shape_from_dict(cfg["shape"])
    assert record["flops"]["supervised_training"] == training_flops(shape, record["tokens"])


def test_distil_a_scaled_llama_config_from_an_hf_teacher(inputs, tmp_path):
    record = _train(
        ["--hf-config", str(inputs["llama"]), "--depth", "1", "--data", str(inputs["corpus"]),
         "--teacher", str(inputs["teacher"])],
        tmp_path,
    )  # fmt: skip
    assert record["kind"] == "student" and record["status"] == "done"
    assert record["config"]["hf_config"]["model_type"] == "llama"
    assert record["config"]["vocab_size"] == 300 and record["flops"]["teacher_inference"] > 0


def _error(args, capsys):
    code = main(["train", *ARGS, *args])
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) <= 3, captured.err
    return code, captured.err


def test_errors_exit_2_naming_the_flag_and_file(inputs, capsys, tmp_path):
    corpus = ["--data", str(inputs["corpus"]), "--workdir", str(tmp_path / "s")]
    cases = [
        (["--hf-config", str(inputs["bytes"])], "--hf-config needs --depth N"),
        (["--hf-config", str(inputs["bytes"]), "--depth", "1", "--layers", "2"],
         "--layers: with --hf-config the shape is the config's"),
        (["--hf-config", str(inputs["bytes"]), "--depth", "1", "--teacher",
          str(inputs["teacher"])], "config.json: vocab_size 256 is not the teacher's 300"),
        (["--hf-config", str(inputs["llama"]), "--depth", "1"],
         "config.json: vocab_size 300 is not the data's 256"),
        (["--hf-config", str(tmp_path / "nothing"), "--depth", "1"],
         "--hf-config: '"),
    ]  # fmt: skip
    gqa = write_config(tmp_path / "gqa", "llama", vocab_size=256, num_key_value_heads=1)
    cases.append((["--hf-config", str(gqa), "--depth", "1"], "depth 1 gives 2 query heads"))
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert", "vocab_size": 256}')
    cases.append(
        (["--hf-config", str(tmp_path / "bert"), "--depth", "1"], "model_type 'bert' is not")
    )
    for args, message in cases:
        code, err = _error([*args, *corpus], capsys)
        assert code == 2 and message in err, (args, err)
        assert not (tmp_path / "s").exists()
