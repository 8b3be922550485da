"""A study's wording of its runs' errors (``study.messages``): spec keys, not train flags."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from distillscale.errors import InputError
from distillscale.flops import family_shape
from distillscale.runs.config import DataConfig, RunConfig
from distillscale.study.messages import study_message


def _config(tokenizer: str = "byte", vocab: int = 256) -> RunConfig:
    data = DataConfig(tokenizer=tokenizer, vocab_size=None if tokenizer == "byte" else vocab)
    shape = family_shape(1, aspect=32, head_dim=32, seq_len=16, vocab_size=vocab)
    return RunConfig(shape=shape, tokens=1024, batch_size=4, data=data)


def test_vocabulary_fix_names_the_tokenizer_only_where_the_spec_needs_it() -> None:
    from distillscale.train.trainer import check_vocab

    bpe = _config("bpe", 4096)
    with pytest.raises(InputError) as info:
        check_vocab(bpe, SimpleNamespace(vocab_size=300))
    assert study_message(info.value, bpe) == (
        "data.vocab_size: the model has 4096 tokens but data 'stdlib' with tokenizer 'bpe' has "
        "300; set data.vocab_size: 300"
    )
    byte = _config()
    with pytest.raises(InputError) as info:
        check_vocab(byte, SimpleNamespace(vocab_size=300))
    assert study_message(info.value, byte).endswith(
        "; set data.vocab_size: 300 and data.tokenizer: bpe (bytes have 256 tokens)"
    )


def test_errors_without_a_spec_key_keep_their_words() -> None:
    plain = InputError("data.corpus: 'x' does not exist")
    assert study_message(plain, _config()) == "data.corpus: 'x' does not exist"
    nproc = InputError(
        ": 2 processes asked for",
        subject=("nproc", "nproc=2", "2"),
        hints=(("nproc", "set nproc=1"),),
    )
    assert study_message(nproc, _config()) == "nproc=2: 2 processes asked for; set nproc=1"
