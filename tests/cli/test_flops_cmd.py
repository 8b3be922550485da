import json

from typer.testing import CliRunner

from distillscale.cli import app, main
from distillscale.flops import (
    TransformerShape,
    count_params,
    family_shape,
    forward_flops_per_token,
)


def run_json(args):
    result = CliRunner().invoke(app, ["flops", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_matches_accountant():
    doc = run_json(["--layers", "4", "--d-model", "128", "--heads", "4", "--kv-heads", "2"])
    shape = TransformerShape(
        n_layers=4, d_model=128, n_heads=4, n_kv_heads=2, vocab_size=256, seq_len=256
    )
    pc = count_params(shape)
    assert doc["params"] == {
        "non_embedding": pc.non_embedding,
        "embedding": pc.embedding,
        "total": pc.total,
    }
    assert doc["forward_flops_per_token"] == forward_flops_per_token(shape)
    assert doc["training_flops_per_token"] == 3 * forward_flops_per_token(shape)
    assert doc["forward_flops_per_token_2n"] == 2 * pc.non_embedding
    assert doc["shape"]["n_kv_heads"] == 2 and doc["tokens"] is None


def test_depth_and_tokens():
    doc = run_json(["--depth", "3", "--tokens", "2e6", "--tied"])
    shape = family_shape(3)
    pc = count_params(shape)
    assert doc["shape"]["d_model"] == 192 and doc["shape"]["qk_norm"] is True
    assert doc["params"]["embedding"] == 256 * 192  # tied: one table
    assert doc["params"]["non_embedding"] == pc.non_embedding
    assert doc["training_flops"] == 3 * forward_flops_per_token(shape) * 2_000_000
    assert doc["tokens_per_param"] == 2_000_000 / pc.non_embedding


def test_full_context_counts_more_attention():
    base = ["--layers", "2", "--d-model", "64", "--seq-len", "128"]
    causal = run_json(base)["forward_flops_per_token"]
    full = run_json([*base, "--full-context"])["forward_flops_per_token"]
    assert full - causal == 2 * 2 * 64 * 128


def test_human_output_goes_to_stderr(capsys):
    assert main(["flops", "--depth", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "non-embedding" in captured.err


def test_bad_shapes_exit_2(capsys):
    assert main(["flops", "--layers", "2", "--d-model", "100"]) == 2
    assert "--heads" in capsys.readouterr().err
    assert main(["flops", "--layers", "2", "--d-model", "128", "--heads", "3"]) == 2
    assert "n_heads" in capsys.readouterr().err
    assert main(["flops", "--depth", "2", "--layers", "2"]) == 2
    assert main(["flops"]) == 2
    assert "--depth" in capsys.readouterr().err
    assert main(["flops", "--depth", "2", "--ffn", "moe"]) == 2


def test_depth_with_overrides():
    doc = run_json(["--depth", "4", "--kv-heads", "2", "--ffn-dim", "512", "--no-qk-norm"])
    shape = TransformerShape(
        n_layers=4, d_model=256, n_heads=4, n_kv_heads=2, ffn_dim=512, vocab_size=256, seq_len=256
    )
    assert doc["params"]["non_embedding"] == count_params(shape).non_embedding
    assert doc["shape"]["qk_norm"] is False
