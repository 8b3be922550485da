"""A study distilling from a tiny random transformers teacher, end to end (real training)."""

from __future__ import annotations

import csv

import pytest
from rich.console import Console

from distillscale.errors import InputError
from distillscale.study.graph import build_graph
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec
from hf_tiny import make_model, write_corpus

pytest.importorskip("transformers")


def _doc(teacher, corpus, cache="topk"):
    return {
        "name": "hf",
        "data": {"corpus": str(corpus), "seq_len": 16, "val_fraction": 0.2},
        "model": {"aspect": 16, "head_dim": 16},
        "teachers": {"hf": str(teacher)},
        "students": {"depths": [1, 2], "tokens": [1024]},
        "distillation": {"cache": cache, "top_k": 8},
        "training": {"batch_size": 4, "eval_tokens": 256},
        "baselines": {"enabled": False},
        "executor": {"workers": 1, "threads": 1},
        "fit": {"enabled": False},
        "plan": {"enabled": False},
        "report": False,
    }


@pytest.fixture(scope="module")
def hf_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hfstudy")
    return make_model(root / "teacher"), write_corpus(root / "corpus")


def test_study_distils_from_hf_teacher_with_a_cache(hf_inputs, tmp_path):
    teacher, corpus = hf_inputs
    spec = parse_spec(_doc(teacher, corpus), source="hf.yaml").resolve_corpus(tmp_path)
    graph = build_graph(spec)
    assert [r.kind for r in graph.runs] == ["teacher", "student", "student"]
    assert all(r.config.shape.vocab_size == 300 for r in graph.runs)
    assert all(r.config.data.tokenizer == f"hf:{teacher}" for r in graph.runs)
    assert len(graph.caches) == 1
    result = run_study(spec, tmp_path / "s", console=Console(quiet=True), finish=False)
    with (tmp_path / "s" / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["done"] * 3, rows
    teacher_row = next(r for r in rows if r["kind"] == "teacher")
    students = [r for r in rows if r["kind"] == "student"]
    # the teacher is evaluated on the held-out data (random weights: about ln 300 = 5.7 nats)
    assert 5.0 < float(teacher_row["loss"]) < 6.5 and teacher_row["tokens"] == "0"
    assert all(s["teacher_loss"] == teacher_row["loss"] for s in students)
    assert all(float(s["flops_logit_cache"] or 0) == 0 for s in students)
    caches = list((tmp_path / "s" / "caches").glob("*.logits"))
    assert len(caches) == 1
    assert result is not None


def test_hf_teacher_id_follows_its_files(hf_inputs, tmp_path):
    teacher, corpus = hf_inputs
    spec = parse_spec(_doc(teacher, corpus), source="hf.yaml").resolve_corpus(tmp_path)
    before = {r.label: r.run_id for r in build_graph(spec).runs}
    moved = tmp_path / "moved"
    import shutil

    shutil.copytree(teacher, moved)
    spec2 = parse_spec(_doc(moved, corpus), source="hf.yaml").resolve_corpus(tmp_path)
    assert {r.label: r.run_id for r in build_graph(spec2).runs} == before  # content, not path
    cfg = moved / "config.json"
    cfg.write_text(cfg.read_text().replace('"n_layer": 2', '"n_layer": 2 '))
    spec3 = parse_spec(_doc(moved, corpus), source="hf.yaml").resolve_corpus(tmp_path)
    after = {r.label: r.run_id for r in build_graph(spec3).runs}
    assert all(after[k] != before[k] for k in before)


def test_hf_key_errors_name_the_key(hf_inputs, tmp_path):
    teacher, corpus = hf_inputs
    doc = _doc(teacher, corpus)
    doc["teachers"]["depths"] = [1]
    with pytest.raises(InputError, match="teachers: give hf .* or a grid of teachers, not both"):
        parse_spec(doc, source="hf.yaml")
    doc = _doc(teacher, corpus)
    doc["data"]["tokenizer"] = "bpe"
    with pytest.raises(InputError, match="with teachers.hf the teacher's own tokenizer"):
        parse_spec(doc, source="hf.yaml")
    doc = _doc("./no/such/dir", corpus)
    with pytest.raises(InputError, match="teachers.hf: './no/such/dir' is not a directory"):
        parse_spec(doc, source="hf.yaml").resolve_corpus(tmp_path)
    doc = _doc(teacher, corpus)
    doc["data"]["seq_len"] = 128
    spec = parse_spec(doc, source="hf.yaml").resolve_corpus(tmp_path)
    with pytest.raises(InputError, match="data.seq_len: 128 tokens exceeds the context"):
        build_graph(spec)


def test_example_spec_parses_and_names_the_missing_teacher_directory():
    from pathlib import Path

    from distillscale.study.spec import load_spec

    example = Path(__file__).parents[2] / "examples" / "hf-teacher.yaml"
    if (example.parent.parent / "models" / "gpt2").is_dir():
        pytest.skip("a local models/gpt2 exists")
    with pytest.raises(InputError, match=r"teachers.hf: '../models/gpt2' is not a directory"):
        load_spec(example)


def test_per_depth_learning_rates_with_an_hf_teacher(hf_inputs, tmp_path):
    """A per-depth lr map names the students' depths; the pretrained teacher needs no entry."""
    teacher, corpus = hf_inputs
    doc = _doc(teacher, corpus)
    doc["students"]["depths"] = [1]  # the teacher has 2 layers: no entry for its depth
    doc["training"]["lr"] = {1: 0.02}
    graph = build_graph(parse_spec(doc, source="hf.yaml").resolve_corpus(tmp_path))
    students = {r.depth: r.config.lr for r in graph.runs if r.kind == "student"}
    assert students == {1: 0.02}
    assert [r.kind for r in graph.runs].count("teacher") == 1


def test_pretrained_teacher_never_joins_a_training_batch(hf_inputs, tmp_path):
    """The scheduler batches runs by batch_key; an evaluated-only teacher must train alone."""
    from distillscale.runs.config import batch_key

    teacher, corpus = hf_inputs
    graph = build_graph(
        parse_spec(_doc(teacher, corpus), source="hf.yaml").resolve_corpus(tmp_path)
    )
    hf_run = next(r for r in graph.runs if r.kind == "teacher")
    assert hf_run.config.pretrained is not None
    assert batch_key(hf_run.config) is None
    assert all(batch_key(r.config) is not None for r in graph.runs if r.kind == "student")
