"""Hugging Face teachers: shapes and FLOPs, tokenizer data, online and cached distillation."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from distillscale.errors import InputError
from distillscale.flops import family_shape, forward_flops_per_token
from distillscale.train import DataConfig, KDConfig, RunConfig
from hf_tiny import make_model, make_tokenizer, write_corpus

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    tok = make_tokenizer()
    return {
        "gpt2": make_model(root / "gpt2", "gpt2", tokenizer=tok),
        "llama": make_model(root / "llama", "llama", tokenizer=tok),
        "corpus": write_corpus(root / "corpus"),
    }


def _student(hf_dirs, teacher, **kw):
    torch.set_num_threads(1)
    data = DataConfig(
        corpus=str(hf_dirs["corpus"]),
        tokenizer=teacher.checkpoint,
        vocab_size=teacher.shape.vocab_size,
        val_fraction=0.2,
    )
    shape = family_shape(1, aspect=32, head_dim=32, seq_len=32, vocab_size=teacher.shape.vocab_size)
    defaults = dict(
        kind="student",
        shape=shape,
        tokens=8 * 32 * 6,
        batch_size=8,
        data=data,
        teacher=teacher,
        kd=KDConfig(),
        eval_tokens=512,
        device="cpu",
    )
    defaults.update(kw)
    return RunConfig(**defaults)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_accountant_counts_the_hf_forward_exactly(hf_dirs, kind):
    from distillscale.train.hf import hf_teacher_ref, load_hf_model

    ref = hf_teacher_ref(str(hf_dirs[kind]))
    model = load_hf_model(ref)
    b, t = 2, 16
    x = torch.randint(0, ref.shape.vocab_size, (b, t))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(x)
    shape = dataclasses.replace(ref.shape, seq_len=t)
    # FlopCounterMode counts the full T x T scores of the math kernel: causal=False
    assert counter.get_total_flops() == forward_flops_per_token(shape, causal=False) * b * t
    # hand count per token: layers x (attention projections + FFN + scores) + LM head
    d, v, layers = 32, 300, 2
    if kind == "gpt2":  # q, k, v, o: 4 d^2; FFN 2 x d x 4d
        per_layer = 2 * (4 * d * d + 2 * d * 4 * d) + 2 * 2 * t * d
    else:  # q, o: 2 d^2; k, v with 2 of 4 heads: 2 x d x d/2; gated FFN 3 x d x 64
        per_layer = 2 * (2 * d * d + 2 * d * (d // 2) + 3 * d * 64) + 2 * 2 * t * d
    assert counter.get_total_flops() == (layers * per_layer + 2 * d * v) * b * t


def test_unsupported_architecture_is_refused(tmp_path):
    from distillscale.train.hf import hf_shape

    with pytest.raises(InputError, match="model_type 'bert' is not supported"):
        hf_shape({"model_type": "bert"})
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt_neox"}))
    from distillscale.train.hf import hf_teacher_ref

    with pytest.raises(InputError, match="gpt_neox"):
        hf_teacher_ref(str(tmp_path))


def test_hub_id_offline_is_one_input_error(monkeypatch):
    from distillscale.train.hf import hf_teacher_ref

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="cannot be fetched from the Hugging Face hub .offline"):
        hf_teacher_ref("hf:nobody/no-such-model-xyz")


def test_hf_tokenizer_data_hash_and_vocab(hf_dirs):
    from distillscale.train.data import load_corpus

    src = "hf:" + str(hf_dirs["gpt2"])
    corpus = load_corpus(DataConfig(corpus=str(hf_dirs["corpus"]), tokenizer=src, val_fraction=0.2))
    assert corpus.vocab_size == 300
    assert 0 < corpus.train.max() < 300
    byte = load_corpus(DataConfig(corpus=str(hf_dirs["corpus"]), val_fraction=0.2))
    assert corpus.train.size < 0.8 * byte.train.size  # BPE merges bytes
    assert corpus.data_hash != byte.data_hash
    assert corpus.tokenizer_hash != byte.tokenizer_hash
    with pytest.raises(InputError, match="data.vocab_size: 100 tokens, but tokenizer"):
        load_corpus(
            DataConfig(
                corpus=str(hf_dirs["corpus"]), tokenizer=src, vocab_size=100, val_fraction=0.2
            )
        )


def test_online_distillation_from_hf_teacher(hf_dirs, tmp_path):
    from distillscale.flops import teacher_inference_flops
    from distillscale.train import train_run
    from distillscale.train.hf import hf_teacher_ref

    ref = hf_teacher_ref(str(hf_dirs["gpt2"]))
    config = _student(hf_dirs, ref)
    result = train_run(config, tmp_path / "s")
    assert result.status == "done", result.reason
    import dataclasses

    t_shape = dataclasses.replace(ref.shape, seq_len=32)
    assert result.flops.teacher_inference == teacher_inference_flops(t_shape, result.tokens)
    assert result.flops.teacher_inference > 0


def test_cached_distillation_from_hf_teacher(hf_dirs, tmp_path):
    from distillscale.train import build_logit_cache, train_run
    from distillscale.train.hf import hf_teacher_ref

    ref = hf_teacher_ref(str(hf_dirs["llama"]))
    config = _student(hf_dirs, ref, kd=KDConfig(top_k=8))
    info = build_logit_cache(
        ref,
        config.data,
        tokens=config.steps * config.tokens_per_step,
        seq_len=32,
        top_k=8,
        path=tmp_path / "t.logits",
        device="cpu",
    )
    assert info.flops > 0
    cached = dataclasses_replace(config, teacher_cache=info.path)
    result = train_run(cached, tmp_path / "s")
    assert result.status == "done", result.reason
    assert result.flops.teacher_inference == 0


def dataclasses_replace(config, **kw):
    import dataclasses

    return dataclasses.replace(config, **kw)


def test_vocabulary_mismatch_names_both_sizes(hf_dirs, tmp_path):
    from distillscale.train import check_run
    from distillscale.train.hf import hf_teacher_ref

    ref = hf_teacher_ref(str(hf_dirs["gpt2"]))
    config = _student(hf_dirs, ref)
    bad = dataclasses_replace(
        config,
        shape=dataclasses_replace(config.shape, vocab_size=256),
        data=DataConfig(corpus=str(hf_dirs["corpus"]), val_fraction=0.2),
    )
    with pytest.raises(InputError, match="vocabulary 300 tokens, the student's is 256"):
        check_run(bad)


def test_data_tokenised_by_another_tokenizer_is_refused(hf_dirs, tmp_path):
    from distillscale.train import check_run
    from distillscale.train.hf import hf_teacher_ref

    other = make_model(tmp_path / "other", tokenizer=make_tokenizer(280), vocab_size=300)
    ref = hf_teacher_ref(str(hf_dirs["gpt2"]))
    config = _student(hf_dirs, ref)
    bad = dataclasses_replace(
        config, data=dataclasses_replace(config.data, tokenizer="hf:" + str(other))
    )
    with pytest.raises(InputError, match="its tokenizer .* is not the data's"):
        check_run(bad)


def test_missing_transformers_names_the_extra(hf_dirs, monkeypatch):
    import sys

    from distillscale.train.hf import hf_teacher_ref, load_hf_model

    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails
    ref = hf_teacher_ref(str(hf_dirs["gpt2"]))  # reading config.json needs no transformers
    with pytest.raises(InputError, match=r"pip install 'distillscale\[hf\]'"):
        load_hf_model(ref)
