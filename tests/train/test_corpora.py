"""`datasets` corpora (dataset:SOURCE): rows as documents, hashed by content like text corpora."""

from __future__ import annotations

import json

import pytest

import hf_tiny  # noqa: F401  (HF_HUB_OFFLINE=1 before datasets is imported)
from distillscale.errors import InputError
from distillscale.train import DataConfig
from distillscale.train.corpus_id import corpus_fingerprint, iter_documents
from distillscale.train.data import load_corpus

datasets = pytest.importorskip("datasets")


def _rows(n=40):
    texts = hf_tiny.sample_texts()
    out = []
    for i in range(n):
        t = texts[i % len(texts)]
        start = (i * 50) % max(1, len(t) - 300)
        out.append({"id": i, "body": t[start : start + 900]})
    return out


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _data(source, **kw):
    return DataConfig(corpus=f"dataset:{source}", text_column="body", val_fraction=0.2, **kw)


def test_jsonl_rows_are_documents_and_edits_change_the_fingerprint(tmp_path):
    rows = _rows()
    path = _jsonl(tmp_path / "d.jsonl", rows)
    docs = list(iter_documents(_data(path)))
    assert [n for n, _ in docs] == [f"row{i}" for i in range(len(rows))]
    assert [t.decode() for _, t in docs] == [r["body"] for r in rows]
    corpus = load_corpus(_data(path))
    assert corpus.n_documents == len(rows) and corpus.train.size + corpus.val.size == sum(
        len(r["body"].encode()) for r in rows
    )
    before = corpus_fingerprint(_data(path))
    rows[3]["body"] += "!"
    _jsonl(path, rows)
    assert corpus_fingerprint(_data(path)) != before
    capped = list(iter_documents(_data(path, max_corpus_bytes=2000)))
    assert sum(len(t) for _, t in capped) == 2000


def test_parquet_and_save_to_disk_give_the_same_content_hash(tmp_path):
    rows = _rows()
    ds = datasets.Dataset.from_list(rows)
    ds.to_parquet(str(tmp_path / "d.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    jsonl = _jsonl(tmp_path / "d.jsonl", rows)
    prints = {
        corpus_fingerprint(_data(p)) for p in (tmp_path / "d.parquet", tmp_path / "saved", jsonl)
    }
    assert len(prints) == 1


def test_bad_column_path_and_offline_id_are_one_input_error(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", _rows())
    with pytest.raises(
        InputError, match=r"data.text_column: 'text' is not a column .*\['id', 'body'\]"
    ):
        load_corpus(DataConfig(corpus=f"dataset:{path}", val_fraction=0.2))
    with pytest.raises(InputError, match="data.text_column: row 0 .* holds int"):
        load_corpus(DataConfig(corpus=f"dataset:{path}", text_column="id", val_fraction=0.2))
    with pytest.raises(InputError, match="data.corpus: cannot load dataset 'nobody/no-such-set'"):
        load_corpus(_data("nobody/no-such-set"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="data.corpus: .* holds no data files"):
        load_corpus(_data(tmp_path / "empty"))


def test_study_spec_takes_a_dataset_corpus(tmp_path):
    from distillscale.study.graph import build_graph
    from distillscale.study.spec import parse_spec

    _jsonl(tmp_path / "d.jsonl", _rows())
    doc = {
        "data": {"corpus": "dataset:d.jsonl", "text_column": "body", "seq_len": 16},
        "model": {"aspect": 16, "head_dim": 16},
        "teachers": {"depths": [1], "tokens_per_param": [0.05]},
        "students": {"depths": [1], "tokens": [2048]},
        "training": {"batch_size": 4},
    }
    spec = parse_spec(doc, source="s.yaml").resolve_corpus(tmp_path)
    assert spec.data.corpus == f"dataset:{tmp_path / 'd.jsonl'}"
    graph = build_graph(spec)
    assert {r.config.data.text_column for r in graph.runs} == {"body"}
    assert graph.runs[0].config.data.fingerprint == corpus_fingerprint(_data(tmp_path / "d.jsonl"))
