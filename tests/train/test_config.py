import json

import pytest

from distillscale.errors import InputError
from distillscale.flops import family_shape
from distillscale.train import DataConfig, KDConfig, RunConfig, TeacherRef, family_config


def _config(**kw):
    kw.setdefault("tokens", 10_000)
    return RunConfig(shape=family_shape(2, seq_len=64), **kw)


def test_run_id_is_stable_hash_of_canonical_json():
    a = _config(seed=1)
    b = _config(seed=1)
    assert a.run_id() == b.run_id()
    assert len(a.run_id()) == 16 and int(a.run_id(), 16) >= 0
    assert _config(seed=2).run_id() != a.run_id()
    assert _config(kd=KDConfig(), teacher_cache="c.bin").run_id() != a.run_id()
    # the hash is of the canonical JSON text, with sorted keys
    doc = json.loads(a.canonical_json())
    assert list(doc) == sorted(doc)
    assert doc["shape"]["d_model"] == 128


def test_round_trip_through_dict_and_json():
    teacher = TeacherRef(checkpoint="t/checkpoint.pt", shape=family_shape(4), run_id="ab" * 8)
    cfg = _config(
        kind="student",
        teacher=teacher,
        kd=KDConfig(loss="js", top_k=8, temperature=2.0),
        data=DataConfig(tokenizer="byte", seed=3),
    )
    back = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    assert back.run_id() == cfg.run_id()


def test_steps_round_up_to_whole_batches():
    cfg = _config(batch_size=4)  # 4 * 64 = 256 tokens per step
    assert cfg.tokens_per_step == 256
    assert cfg.steps == 40  # ceil(10000 / 256)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kind": "teachr"}, "kind"),
        ({"tokens": 0}, "tokens"),
        ({"schedule": "linear"}, "schedule"),
        ({"batch_size": 3, "nproc": 2}, "nproc"),
        ({"kd": KDConfig()}, "without a teacher"),
        ({"teacher_cache": "x.bin"}, "without a distillation loss"),
    ],
)
def test_bad_run_config_names_the_key(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        _config(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"loss": "kl"}, "kd.loss"),
        ({"temperature": 0.0}, "kd.temperature"),
        ({"weight": 1.5}, "kd.weight"),
        ({"top_k": 0}, "kd.top_k"),
        ({"loss": "reverse-kl", "top_k": 4}, "bucket"),
    ],
)
def test_bad_kd_config_names_the_key(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        KDConfig(**kwargs)


def test_reverse_kl_top_k_is_allowed_with_bucket():
    assert KDConfig(loss="reverse-kl", top_k=4, top_k_mode="bucket").top_k == 4


def test_data_config_rejects_byte_vocab_mismatch():
    with pytest.raises(InputError, match="data.vocab_size"):
        DataConfig(vocab_size=512)


def test_family_config_splits_shape_and_run_keywords():
    cfg = family_config(3, tokens=1000, seq_len=32, lr=1e-3)
    assert cfg.shape.n_layers == 3 and cfg.shape.seq_len == 32
    assert cfg.lr == 1e-3


def test_config_modules_do_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; import distillscale.train as t; t.RunConfig; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
