import pytest
import torch

from distillscale.flops import family_shape
from distillscale.train import DataConfig, RunConfig

DATA = DataConfig(max_corpus_bytes=1_000_000, val_fraction=0.2)


def tiny_config(**kw):
    """A ~16k-parameter model on 1 MB of the stdlib: a training step takes milliseconds."""
    torch.set_num_threads(1)
    shape = kw.pop("shape", None) or family_shape(1, aspect=32, head_dim=32, seq_len=32)
    defaults = dict(
        kind="single",
        shape=shape,
        tokens=8 * 32 * 30,
        batch_size=8,
        lr=1e-2,
        data=DATA,
        eval_every=10,
        eval_tokens=2048,
        device="cpu",
    )
    defaults.update(kw)
    return RunConfig(**defaults)


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory):
    """A small teacher trained once per session; returns its TeacherRef."""
    from distillscale.train import load_teacher, train_run

    shape = family_shape(2, aspect=32, head_dim=32, seq_len=32)
    config = tiny_config(kind="teacher", shape=shape, tokens=16 * 32 * 150, batch_size=16)
    workdir = tmp_path_factory.mktemp("teacher")
    result = train_run(config, workdir)
    assert result.status == "done"
    return load_teacher(result.checkpoint)
