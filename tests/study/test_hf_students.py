"""A study whose students are a transformers config scaled by the depth dial, end to end."""

from __future__ import annotations

import csv
import json

import pytest
from rich.console import Console

from distillscale.errors import InputError
from distillscale.flops import forward_flops_per_token, training_flops
from distillscale.runs.config import batch_key
from distillscale.study.graph import build_graph
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec
from hf_tiny import make_model, make_tokenizer, write_config, write_corpus

pytest.importorskip("transformers")

from distillscale.train.hf_config import read_student_config, scale_hf_config  # noqa: E402

FIXED = {k: "@busbridge2025" for k in ("A", "B", "alpha", "beta", "gamma", "f1", "d1")}


def _doc(corpus, students, teacher=None, **over):
    doc = {
        "name": "hfs",
        "data": {"corpus": str(corpus), "seq_len": 16, "val_fraction": 0.2},
        "model": {"aspect": 16, "head_dim": 16},
        "teachers": {"hf": str(teacher)} if teacher else {"depths": [1], "tokens_per_param": [2]},
        "students": {"hf_config": str(students), "depths": [1, 2], "tokens": [512, 1024]},
        "distillation": {"cache": "topk", "top_k": 8},
        "training": {"batch_size": 4, "eval_tokens": 256, "lr": 0.01},
        "executor": {"workers": 1, "threads": 1},
        "fit": {
            "bootstrap": 0,
            "holdout": 0,
            "fix": FIXED,
            "supervised_fix": {"alpha": "@besiroglu2024", "beta": "@besiroglu2024"},
        },
        "plan": {"enabled": False},
        "report": False,
    }
    doc.update(over)
    return doc


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hfstudents")
    tok = make_tokenizer()
    return {
        "teacher": make_model(root / "teacher", tokenizer=tok),
        "llama": write_config(root / "llama", "llama", vocab_size=len(tok)),
        "bytes": write_config(root / "bytes", "gpt2"),  # vocab 256, no tokenizer
        "own": write_config(root / "own", "gpt2", vocab_size=len(tok), tokenizer=tok),
        "corpus": write_corpus(root / "corpus"),
    }


def test_hf_teacher_distils_into_hf_config_students_and_the_laws_fit(inputs, tmp_path):
    doc = _doc(inputs["corpus"], inputs["llama"], inputs["teacher"])
    spec = parse_spec(doc, source="hfs.yaml").resolve_corpus(tmp_path)
    graph = build_graph(spec)
    kinds = [r.kind for r in graph.runs]
    assert kinds.count("student") == 4 and kinds.count("baseline") == 4
    _, base = read_student_config(str(inputs["llama"]))
    for run in graph.runs:
        if run.kind == "teacher":
            assert run.config.hf_config is None
            continue
        # students and baselines: the config scaled to their depth, our shape of it
        assert run.config.hf_config == scale_hf_config(base, run.depth, source="x")
        assert run.config.shape.d_model == 16 * run.depth and run.config.shape.ffn == "gated"
        d = 16 * run.depth  # per layer: q, o d^2 each; k, v d^2/2 each (2:1 GQA); FFN 3 d 2d
        assert run.params == run.depth * (3 * d * d + 6 * d * d + 2 * d) + d  # + RMSNorm gains
        assert batch_key(run.config) is None  # never stacked by the batched trainer
        assert run.config.data.tokenizer == f"hf:{inputs['teacher']}"
    result = run_study(spec, tmp_path / "s", console=Console(quiet=True))
    with (tmp_path / "s" / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["done"] * 9, rows
    for r in rows:
        if r["kind"] == "teacher":
            continue
        node = next(n for n in graph.runs if n.run_id == r["run"])
        assert int(r["params"]) == node.params
        flops = training_flops(node.config.shape, int(r["tokens"]))
        assert float(r["flops_training"]) == pytest.approx(flops, rel=1e-12)
    assert result.done == 9
    fits = sorted(p.name for p in (tmp_path / "s" / "fits").glob("*.json"))
    assert "distillation.json" in fits and "supervised.json" in fits
    doc = json.loads((tmp_path / "s" / "fits" / "distillation.json").read_text())
    assert doc["n_points"] == 4


def test_editing_the_config_changes_only_the_hf_runs_ids(inputs, tmp_path):
    import shutil

    cfg = tmp_path / "cfg"
    shutil.copytree(inputs["bytes"], cfg)
    spec = parse_spec(_doc(inputs["corpus"], cfg), source="hfs.yaml").resolve_corpus(tmp_path)
    before = {r.label: r.run_id for r in build_graph(spec).runs}
    config = json.loads((cfg / "config.json").read_text())
    config["layer_norm_epsilon"] = 1e-6
    (cfg / "config.json").write_text(json.dumps(config))
    after = {r.label: r.run_id for r in build_graph(spec).runs}
    teacher = "d1-m2"
    assert after[teacher] == before[teacher]  # our GPT teacher: unchanged
    assert all(after[k] != before[k] for k in before if k != teacher)


def test_gpt_teacher_and_byte_data_with_a_config_file(inputs, tmp_path):
    """A bare config.json of vocabulary 256 takes the data's byte tokenizer; teachers are ours."""
    doc = _doc(inputs["corpus"], inputs["bytes"] / "config.json")
    graph = build_graph(parse_spec(doc, source="hfs.yaml").resolve_corpus(tmp_path))
    students = [r for r in graph.runs if r.kind == "student"]
    assert students and all(r.config.hf_config["model_type"] == "gpt2" for r in students)
    assert all(r.config.data.tokenizer == "byte" for r in graph.runs)
    teacher = next(r for r in graph.runs if r.kind == "teacher")
    assert teacher.config.hf_config is None and batch_key(teacher.config) is not None
    # the FLOPs-matched baselines use the HF student's forward FLOPs
    s = students[0]
    base = next(r for r in graph.runs if r.kind == "baseline" and r.depth == s.depth)
    f_s = forward_flops_per_token(s.config.shape)
    assert base.config.hf_config == s.config.hf_config
    assert base.tokens >= s.tokens * (3 * f_s + forward_flops_per_token(teacher.config.shape)) / (
        3 * f_s
    )


def test_a_config_directory_with_a_tokenizer_tokenises_the_data(inputs, tmp_path):
    graph = build_graph(
        parse_spec(_doc(inputs["corpus"], inputs["own"]), source="hfs.yaml").resolve_corpus(
            tmp_path
        )
    )
    assert all(r.config.data.tokenizer == f"hf:{inputs['own']}" for r in graph.runs)
    assert all(r.config.shape.vocab_size == 300 for r in graph.runs)
    doc = _doc(inputs["corpus"], inputs["own"])
    doc["data"]["tokenizer"] = "bpe"
    with pytest.raises(
        InputError, match=r"data.tokenizer/data.vocab_size: students.hf_config .* own"
    ):
        build_graph(parse_spec(doc, source="hfs.yaml").resolve_corpus(tmp_path))


def test_errors_name_the_key_and_the_file(inputs, tmp_path):
    corpus = inputs["corpus"]
    with pytest.raises(InputError, match=r"vocab_size 256 is not the teacher's 300 .*config.json"):
        build_graph(
            parse_spec(_doc(corpus, inputs["bytes"], inputs["teacher"]), source="x").resolve_corpus(
                tmp_path
            )
        )
    with pytest.raises(
        InputError, match=r"students.hf_config .*: vocab_size 300 is not the data's 256"
    ):
        build_graph(parse_spec(_doc(corpus, inputs["llama"]), source="x").resolve_corpus(tmp_path))
    with pytest.raises(InputError, match=r"students.hf_config: 'no/such' is neither a directory"):
        parse_spec(_doc(corpus, "no/such"), source="x").resolve_corpus(tmp_path)
    gqa = write_config(tmp_path / "gqa", "llama", num_key_value_heads=1)  # 4 q heads per kv
    doc = _doc(corpus, gqa)
    with pytest.raises(
        InputError, match=r"students.hf_config \(.*config.json\): depth 1 gives 2 q"
    ):
        build_graph(parse_spec(doc, source="x").resolve_corpus(tmp_path))
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert", "vocab_size": 256}))
    with pytest.raises(InputError, match=r"students.hf_config \(.*\): model_type 'bert' is not"):
        build_graph(parse_spec(_doc(corpus, bert), source="x").resolve_corpus(tmp_path))


def test_the_example_spec_builds_offline():
    from pathlib import Path

    from distillscale.study.spec import load_spec

    spec = load_spec(Path(__file__).parents[2] / "examples" / "hf-students.yaml")
    graph = build_graph(spec, fingerprint="0" * 64)
    hf_runs = [r for r in graph.runs if r.kind != "teacher"]
    assert {r.depth: r.config.shape.d_model for r in hf_runs} == {1: 32, 2: 64, 3: 96}
    assert all(r.config.hf_config["model_type"] == "llama" for r in hf_runs)
    assert all(r.config.hf_config is None for r in graph.runs if r.kind == "teacher")
