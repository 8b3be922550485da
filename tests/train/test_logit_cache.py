import dataclasses
import os

import numpy as np
import pytest
import torch

from distillscale.errors import InputError
from distillscale.flops import logit_cache_flops
from distillscale.train import KDConfig, build_logit_cache, train_run
from distillscale.train.data import load_corpus, train_batch
from distillscale.train.logit_cache import open_logit_cache
from distillscale.train.losses import sparse_teacher
from distillscale.train.trainer import load_model

from .conftest import DATA, tiny_config

STEPS = 12


@pytest.fixture(scope="module")
def cache(tiny_teacher, tmp_path_factory):
    path = tmp_path_factory.mktemp("cache") / "t.logits"
    info = build_logit_cache(
        tiny_teacher, DATA, tokens=8 * 32 * STEPS, seq_len=32, top_k=16, path=path, batch_size=8
    )
    return info


def test_cache_info_and_size(cache, tiny_teacher):
    assert cache.tokens == 8 * 32 * STEPS and cache.top_k == 16
    assert cache.bytes_per_token == 16 * 4 + 2
    header_bytes = 16 + 512 * 2  # generous bound on the JSON header
    size = os.path.getsize(cache.path)
    assert (
        cache.tokens * cache.bytes_per_token
        < size
        < cache.tokens * cache.bytes_per_token + (header_bytes)
    )
    shape = dataclasses.replace(tiny_teacher.shape, seq_len=32)
    assert cache.flops == logit_cache_flops(shape, cache.tokens)


def test_cache_holds_the_teachers_top_k_for_the_student_stream(cache, tiny_teacher):
    corpus = load_corpus(DATA)
    opened = open_logit_cache(
        cache.path, data_hash=corpus.data_hash, vocab_size=256, seq_len=32, seed=DATA.seed,
        sequences=8 * STEPS, top_k=None,
    )  # fmt: skip
    x, _ = train_batch(corpus, DATA.seed, 3, 8, 32)  # the student's batch 3
    with torch.no_grad():
        want = sparse_teacher(load_model(tiny_teacher.checkpoint)(torch.from_numpy(x)), 16, 1.0)
    got = opened.read(3 * 8, 8)
    torch.testing.assert_close(got.logp, want.logp, atol=2e-2, rtol=2e-3)  # float16 storage
    assert (got.index == want.index).float().mean() > 0.99  # near-ties may swap order
    torch.testing.assert_close(got.log_rest, want.log_rest, atol=2e-2, rtol=2e-3)
    # a smaller k folds the dropped tokens into the remaining mass
    opened8 = open_logit_cache(
        cache.path, data_hash=corpus.data_hash, vocab_size=256, seq_len=32, seed=DATA.seed,
        sequences=8 * STEPS, top_k=8,
    )  # fmt: skip
    small = opened8.read(3 * 8, 8)
    total = small.logp.exp().sum(-1) + small.log_rest.exp()
    torch.testing.assert_close(total, torch.ones_like(total), atol=5e-3, rtol=0)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"seed": 1}, "seed"),
        ({"seq_len": 16}, "seq_len"),
        ({"vocab_size": 300}, "vocab_size"),
        ({"data_hash": "0" * 64}, "data_hash"),
        ({"sequences": 10_000}, "rebuild it with tokens"),
        ({"top_k": 32}, "keeps only 16"),
    ],
)
def test_header_mismatch_is_input_error(cache, change, fragment):
    corpus = load_corpus(DATA)
    kwargs = dict(
        data_hash=corpus.data_hash, vocab_size=256, seq_len=32, seed=DATA.seed, sequences=8,
        top_k=None,
    )  # fmt: skip
    kwargs.update(change)
    with pytest.raises(InputError, match=fragment):
        open_logit_cache(cache.path, **kwargs)


def test_student_from_cache_matches_online_top_k(cache, tiny_teacher, tmp_path):
    kd = KDConfig(top_k=16)
    common = dict(kind="student", tokens=8 * 32 * STEPS, teacher=tiny_teacher, kd=kd)
    online = train_run(tiny_config(**common), tmp_path / "online")
    cached = train_run(tiny_config(teacher_cache=cache.path, **common), tmp_path / "cached")
    assert cached.status == online.status == "done"
    assert cached.loss == pytest.approx(online.loss, abs=5e-3)
    np.testing.assert_allclose(
        [p[2] for p in cached.curve], [p[2] for p in online.curve], atol=5e-3
    )
    # the cache paid the teacher once; a student reading it pays no teacher inference
    assert cached.flops.teacher_inference == 0 and online.flops.teacher_inference > 0
    assert cached.flops.student_training == online.flops.student_training


def test_student_refuses_a_cache_built_for_other_data(cache, tiny_teacher, tmp_path):
    other = dataclasses.replace(DATA, seed=9)
    config = tiny_config(
        kind="student", tokens=8 * 32 * STEPS, data=other, teacher_cache=cache.path,
        kd=KDConfig(),
    )  # fmt: skip
    with pytest.raises(InputError, match="header seed"):
        train_run(config, tmp_path)
