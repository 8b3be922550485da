"""Students built from a transformers config scaled by the depth dial: shapes, FLOPs, training."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from distillscale.errors import InputError
from distillscale.flops import count_params, forward_flops_per_token, training_flops
from distillscale.runs.config import KD_LOSSES, batch_key
from distillscale.train import DataConfig, KDConfig, RunConfig, train_run
from distillscale.train.checkpoint import CHECKPOINT, load_model
from hf_tiny import make_model, write_config, write_corpus

pytest.importorskip("transformers")

from distillscale.train.hf import HFLogits, build_hf_model  # noqa: E402
from distillscale.train.hf_config import (  # noqa: E402
    hf_student,
    read_student_config,
    scale_hf_config,
)


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hfstudent")
    return {
        "gpt2": write_config(root / "gpt2"),
        "llama": write_config(root / "llama", "llama"),
        "corpus": write_corpus(root / "corpus"),
    }


def _config(dirs, arch="gpt2", depth=1, **kw):
    torch.set_num_threads(1)
    _, base = read_student_config(str(dirs[arch]))
    shape, scaled = hf_student(base, depth, 16, source="students.hf_config")
    defaults = dict(
        kind="single",
        shape=shape,
        hf_config=scaled,
        tokens=4 * 16 * 12,
        batch_size=4,
        lr=1e-2,
        data=DataConfig(corpus=str(dirs["corpus"]), val_fraction=0.2),
        eval_every=4,
        eval_tokens=256,
        checkpoint_every=4,
        device="cpu",
    )
    defaults.update(kw)
    return RunConfig(**defaults)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_scaling_at_the_configs_own_depth_gives_the_config(dirs, kind):
    _, base = read_student_config(str(dirs[kind]))
    assert scale_hf_config(base, 2, source="x") == base


def test_depth_scales_width_heads_and_ffn_like_the_family(dirs):
    _, gpt2 = read_student_config(str(dirs["gpt2"]))  # aspect 16, head_dim 16, FFN 4 d
    for depth, (d, h) in {1: (16, 1), 3: (48, 3), 4: (64, 4)}.items():
        scaled = scale_hf_config(gpt2, depth, source="x")
        assert (scaled["n_layer"], scaled["n_embd"], scaled["n_head"]) == (depth, d, h)
        assert scaled["n_inner"] is None and scaled["vocab_size"] == 256
    _, llama = read_student_config(str(dirs["llama"]))  # head_dim 8, 2 q heads per kv, FFN 2 d
    shape, scaled = hf_student(llama, 3, 16, source="x")
    assert (shape.n_layers, shape.d_model, shape.n_heads, shape.kv_heads) == (3, 48, 6, 3)
    assert shape.ffn_width == scaled["intermediate_size"] == 96
    assert scaled["head_dim"] == 8 and shape.seq_len == 16 and shape.ffn == "gated"


def test_a_depth_the_config_cannot_take_names_the_key(dirs, tmp_path):
    cfg = write_config(tmp_path / "gqa", "llama", num_key_value_heads=1)  # 4 q heads per kv
    _, base = read_student_config(str(cfg))
    with pytest.raises(InputError, match=r"depth 1 gives 2 query heads .*num_key_value_heads"):
        scale_hf_config(base, 1, source="students.hf_config gqa/config.json")
    assert scale_hf_config(base, 4, source="x")["num_key_value_heads"] == 2


def test_unsupported_model_type_and_missing_file_are_one_line(tmp_path):
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    _, base = read_student_config(str(tmp_path / "bert"))
    with pytest.raises(InputError, match=r"students.hf_config .*: model_type 'bert' is not supp"):
        scale_hf_config(base, 1, source=f"students.hf_config {tmp_path / 'bert'}")
    with pytest.raises(InputError, match=r"students.hf_config: '.*nope' is neither a directory"):
        read_student_config(str(tmp_path / "nope"))


def test_context_shorter_than_seq_len_is_refused(dirs):
    _, base = read_student_config(str(dirs["gpt2"]))
    with pytest.raises(InputError, match=r"context n_positions 64 is shorter than .* 128"):
        hf_student(base, 1, 128, source="students.hf_config")


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_accountant_counts_a_scaled_students_forward_exactly(dirs, kind):
    _, base = read_student_config(str(dirs[kind]))
    shape, scaled = hf_student(base, 3, 16, source="x")
    torch.manual_seed(0)
    model = build_hf_model(scaled, shape).eval()
    b, t = 2, 16
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(torch.randint(0, 256, (b, t)))
    # FlopCounterMode counts the full T x T scores of the math kernel: causal=False
    assert counter.get_total_flops() == forward_flops_per_token(shape, causal=False) * b * t


def test_run_id_follows_the_configs_content(dirs):
    a = _config(dirs)
    changed = dict(a.hf_config, layer_norm_epsilon=1e-6)
    b = dataclasses.replace(a, hf_config=changed)
    assert a.run_id() != b.run_id()
    assert (
        RunConfig.from_dict(a.to_dict()) == a
        and RunConfig.from_dict(a.to_dict()).run_id() == a.run_id()
    )
    assert batch_key(a) is None  # the batched trainer stacks distillscale's GPT only
    assert batch_key(dataclasses.replace(a, hf_config=None)) is not None


def test_a_config_that_is_not_the_shape_is_refused(dirs, tmp_path):
    config = _config(dirs)
    wrong = dataclasses.replace(
        config, shape=dataclasses.replace(config.shape, d_model=32, n_heads=2)
    )
    with pytest.raises(InputError, match=r"hf_config: the transformers config's shape"):
        train_run(wrong, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def reference(dirs, tmp_path_factory):
    config = _config(dirs)  # GPT-2 with dropout 0.1: the RNG state must resume too
    return config, train_run(config, tmp_path_factory.mktemp("ref"))


def test_hf_student_trains_with_the_accountants_flops(reference):
    config, result = reference
    assert result.status == "done"
    counts = count_params(config.shape)
    assert (result.params, result.params_total) == (counts.non_embedding, counts.total)
    assert result.flops.supervised_training == training_flops(config.shape, result.tokens)
    assert result.curve[-1][2] < result.curve[0][2] - 0.3  # it learns
    model = load_model(result.checkpoint)  # a checkpoint of it loads as a (teacher) model
    assert isinstance(model, HFLogits) and model.shape == config.shape


def test_interrupted_hf_student_resumes_to_the_same_losses(reference, tmp_path):
    config, full = reference

    def stop(event):
        if event.step == 6:
            raise Stop

    with pytest.raises(Stop):
        train_run(config, tmp_path, progress=stop)  # last checkpoint: step 4
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["step"] == 4
    resumed = train_run(config, tmp_path)
    assert resumed.curve == full.curve and resumed.loss == full.loss


@pytest.fixture(scope="module")
def hf_teacher(dirs, tmp_path_factory):
    from distillscale.train.hf import hf_teacher_ref

    root = tmp_path_factory.mktemp("teacher")
    return hf_teacher_ref(str(make_model(root / "t")))


def _teacher_data(dirs, hf_teacher) -> DataConfig:
    """The corpus through the HF teacher's tokenizer (300 tokens), as a study would set it."""
    from distillscale.train.hf_config import tokenizer_files_digest

    return DataConfig(
        corpus=str(dirs["corpus"]),
        tokenizer=hf_teacher.checkpoint,
        vocab_size=300,
        val_fraction=0.2,
        tokenizer_sha256=tokenizer_files_digest(hf_teacher.checkpoint),
    )


@pytest.mark.parametrize("loss", sorted(KD_LOSSES))
def test_hf_student_distils_with_every_loss(dirs, hf_teacher, loss, tmp_path):
    data = _teacher_data(dirs, hf_teacher)
    _, base = read_student_config(str(dirs["llama"]))
    shape, scaled = hf_student(dict(base, vocab_size=300), 1, 16, source="x")
    config = _config(
        dirs,
        kind="student",
        shape=shape,
        hf_config=scaled,
        tokens=4 * 16 * 2,
        data=data,
        teacher=hf_teacher,
        kd=KDConfig(loss=loss, weight=0.5),
    )
    result = train_run(config, tmp_path)
    assert result.status == "done", result.failure_reason
    assert result.flops.student_training == training_flops(shape, result.tokens)
    assert (
        result.flops.teacher_inference
        == forward_flops_per_token(dataclasses.replace(hf_teacher.shape, seq_len=16))
        * result.tokens
    )


def test_hf_student_of_another_vocabulary_than_the_teacher_is_refused(dirs, hf_teacher, tmp_path):
    data = _teacher_data(dirs, hf_teacher)
    config = _config(dirs, kind="student", data=data, teacher=hf_teacher, kd=KDConfig())
    with pytest.raises(InputError, match="hf_config: the student config's vocab_size is 256") as e:
        train_run(config, tmp_path)
    assert 'set "vocab_size": 300 in the student\'s config.json' in str(e.value)
    assert "--vocab" not in str(e.value) and "data.vocab_size" not in str(e.value)


def test_a_finished_hf_student_is_a_teacher_online_and_cached(reference, dirs, tmp_path):
    from distillscale.flops import family_shape
    from distillscale.train import build_logit_cache, load_teacher

    config, result = reference
    teacher = load_teacher(result.checkpoint)
    assert teacher.shape == config.shape and teacher.loss == result.loss
    student = RunConfig(
        kind="student",
        shape=family_shape(1, aspect=16, head_dim=16, seq_len=16),
        tokens=4 * 16 * 3,
        batch_size=4,
        data=config.data,
        teacher=teacher,
        kd=KDConfig(top_k=8),
        eval_tokens=256,
        device="cpu",
    )
    online = train_run(dataclasses.replace(student, kd=KDConfig()), tmp_path / "online")
    assert online.status == "done" and online.flops.teacher_inference > 0
    info = build_logit_cache(
        teacher, config.data, tokens=student.tokens, seq_len=16, top_k=8,
        path=tmp_path / "t.logits", batch_size=4,
    )  # fmt: skip
    cached = train_run(
        dataclasses.replace(student, teacher_cache=str(tmp_path / "t.logits")), tmp_path / "c"
    )
    assert cached.status == "done" and info.flops > 0


def test_wsd_cooldown_branch_of_an_hf_student_equals_the_standalone_run(dirs, tmp_path):
    from distillscale.runs.config import decay_start
    from distillscale.train.checkpoint import snapshot_name

    def wsd(steps, **kw):
        return _config(
            dirs, tokens=4 * 16 * steps, schedule="wsd", warmup_steps=2, decay_fraction=0.25, **kw
        )

    short = wsd(8)
    s = decay_start(short)
    train_run(wsd(12, snapshot_steps=(s,)), tmp_path / "trunk")
    snap = tmp_path / "trunk" / snapshot_name(s)
    branch = train_run(wsd(8, init_from={"path": str(snap), "step": s}), tmp_path / "branch")
    alone = train_run(short, tmp_path / "alone")
    assert branch.status == "done" and [p[0] for p in branch.curve] == list(range(1, 9))
    for a, b in zip(branch.curve, alone.curve, strict=True):  # dropout 0.1: RNG restored too
        assert a[2] == pytest.approx(b[2], rel=1e-6, abs=1e-6)
    assert branch.loss == pytest.approx(alone.loss, rel=1e-6, abs=1e-6)
