import dataclasses

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.train import DataConfig
from distillscale.train.data import (
    load_corpus,
    sequence_starts,
    train_batch,
    unigram_entropy,
    val_batches,
)

SMALL = DataConfig(max_corpus_bytes=1_000_000, val_fraction=0.2)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(SMALL)


def test_stdlib_corpus_is_bytes_split_by_document(corpus):
    assert corpus.vocab_size == 256
    assert corpus.train.dtype == np.uint16
    assert corpus.n_bytes == 1_000_000 == corpus.train.size + corpus.val.size
    assert 0 < corpus.val.size < 0.3 * corpus.n_bytes
    # same config, same tokens and hash
    again = load_corpus(SMALL)
    assert again.data_hash == corpus.data_hash
    assert np.array_equal(again.val, corpus.val)
    assert load_corpus(DataConfig(max_corpus_bytes=1_000_000, val_fraction=0.3)).data_hash != (
        corpus.data_hash
    )


def test_split_is_by_document(tmp_path):
    for i in range(40):
        (tmp_path / f"doc{i:02d}.txt").write_text(f"document {i} " * 20)
    c = load_corpus(DataConfig(corpus=str(tmp_path), val_fraction=0.25))
    val_text = bytes(c.val.astype(np.uint8)).decode()
    train_text = bytes(c.train.astype(np.uint8)).decode()
    for i in range(40):
        piece = f"document {i} " * 20
        assert (piece in val_text) != (piece in train_text)


def test_batches_are_a_pure_function_of_seed_and_step(corpus):
    x1, y1 = train_batch(corpus, 7, 5, 8, 32)
    x2, y2 = train_batch(corpus, 7, 5, 8, 32)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert np.array_equal(x1[:, 1:], y1[:, :-1])  # targets are inputs shifted by one
    x3, _ = train_batch(corpus, 8, 5, 8, 32)
    assert not np.array_equal(x1, x3)
    # the ranks of a data-parallel step split the global batch
    parts = [train_batch(corpus, 7, 5, 8, 32, rank=r, world=2)[0] for r in range(2)]
    assert np.array_equal(np.concatenate(parts), x1)
    starts = sequence_starts(7, 0, 10_000, corpus.train.size, 32)
    assert starts.min() >= 0 and starts.max() <= corpus.train.size - 33
    assert len(np.unique(starts)) > 9_900  # spread over the corpus


def test_val_batches_cover_consecutive_windows(corpus):
    batches = val_batches(corpus, 64, 64 * 10, 4)
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    flat = np.concatenate([x for x, _ in batches]).ravel()
    assert np.array_equal(flat, corpus.val[:640].astype(np.int64))


def test_unigram_entropy_reference():
    assert unigram_entropy(np.array([0, 1, 0, 1]), 4) == pytest.approx(np.log(2))
    assert unigram_entropy(np.zeros(10, dtype=np.uint16), 256) == 0.0


def test_token_files(tmp_path):
    tokens = (np.arange(10_000) % 77).astype(np.uint16)
    np.save(tmp_path / "t.npy", tokens)
    tokens.tofile(tmp_path / "t.bin")
    a = load_corpus(DataConfig(corpus=str(tmp_path / "t.npy"), val_fraction=0.1))
    b = load_corpus(DataConfig(corpus=str(tmp_path / "t.bin"), val_fraction=0.1))
    assert a.vocab_size == b.vocab_size == 77
    assert a.val.size == 1000 and np.array_equal(a.val, tokens[-1000:])
    assert np.array_equal(np.asarray(b.train), tokens[:-1000])


def test_bpe_tokenizer_is_trained_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = DataConfig(tokenizer="bpe", vocab_size=400, max_corpus_bytes=400_000, val_fraction=0.2)
    c = load_corpus(cfg)
    assert c.vocab_size == 400 and int(c.train.max()) < 400
    assert c.train.size < 0.8 * c.n_bytes  # merges compress the text
    cached = list((tmp_path / "cache" / "distillscale").glob("bpe-*.json"))
    assert len(cached) == 1
    assert np.array_equal(load_corpus(cfg).train, c.train)


def test_tokenizer_hash_tells_tokenizers_apart_not_corpora(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    other = tmp_path / "other"
    other.mkdir()
    for i in range(20):
        (other / f"d{i}.txt").write_text(f"alpha beta gamma {i} " * 300)
    stdlib = DataConfig(max_corpus_bytes=200_000, val_fraction=0.2)
    text = DataConfig(corpus=str(other), val_fraction=0.2)
    # bytes are bytes whatever the text
    assert load_corpus(stdlib).tokenizer_hash == load_corpus(text).tokenizer_hash is not None
    bpe_a = load_corpus(dataclasses.replace(stdlib, tokenizer="bpe", vocab_size=300))
    bpe_b = load_corpus(dataclasses.replace(text, tokenizer="bpe", vocab_size=300))
    assert bpe_a.vocab_size == bpe_b.vocab_size == 300
    assert bpe_a.tokenizer_hash != bpe_b.tokenizer_hash  # same size, other merges
    assert bpe_a.tokenizer_hash != load_corpus(stdlib).tokenizer_hash
    again = load_corpus(dataclasses.replace(stdlib, tokenizer="bpe", vocab_size=300))
    assert again.tokenizer_hash == bpe_a.tokenizer_hash
    np.save(tmp_path / "tokens.npy", np.arange(1000, dtype=np.uint16) % 50)
    assert load_corpus(DataConfig(corpus=str(tmp_path / "tokens.npy"))).tokenizer_hash is None


@pytest.mark.parametrize(
    ("corpus_path", "fragment"),
    [("/no/such/corpus", "not a file or folder"), ("EMPTY", "no readable text")],
)
def test_unreadable_corpus_is_input_error(tmp_path, corpus_path, fragment):
    if corpus_path == "EMPTY":
        corpus_path = str(tmp_path)
    with pytest.raises(InputError, match=fragment):
        load_corpus(DataConfig(corpus=corpus_path))


def test_permission_denied_is_input_error(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    f = tmp_path / "secret.txt"
    f.write_text("x" * 1000)

    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # root ignores chmod, so simulate it
    with pytest.raises(InputError, match="cannot read .*secret.txt: Permission denied"):
        load_corpus(DataConfig(corpus=str(tmp_path)))


def test_sequence_longer_than_corpus_is_input_error(tmp_path):
    (tmp_path / "a.txt").write_text("tiny")
    (tmp_path / "b.txt").write_text("tiny too")
    c = load_corpus(DataConfig(corpus=str(tmp_path), val_fraction=0.5))
    with pytest.raises(InputError, match="seq_len"):
        train_batch(c, 0, 0, 2, 64)


def test_token_shards_and_bin_dtype(tmp_path):
    """A folder of .npy/.bin shards is one corpus, hashed by content; .bin takes a dtype."""
    from distillscale.errors import InputError
    from distillscale.train.corpus_id import corpus_fingerprint

    tokens = (np.arange(30_000) * 7 % 70_000).astype(np.uint32)
    shards = tmp_path / "shards"
    shards.mkdir()
    for i, part in enumerate(np.array_split(tokens, 3)):
        part.tofile(shards / f"{i:03d}.bin")
    one = DataConfig(corpus=str(shards), token_dtype="uint32", val_fraction=0.1)
    corpus = load_corpus(one)
    assert np.array_equal(np.concatenate([corpus.train, corpus.val]), tokens)
    assert corpus.vocab_size == int(tokens.max()) + 1
    before = corpus_fingerprint(one)
    tokens[5] += 1
    np.array_split(tokens, 3)[0].tofile(shards / "000.bin")
    assert corpus_fingerprint(one) != before  # an edited shard: new fingerprint, new ids
    with pytest.raises(InputError, match="data.token_dtype: 'int8'"):
        DataConfig(corpus=str(shards), token_dtype="int8")
    np.save(shards / "003.npy", np.arange(10, dtype=np.uint16))
    with pytest.raises(InputError, match="shards of .* hold different dtypes"):
        load_corpus(one)
