"""Two data-parallel processes (gloo on CPU) train like one process at the same global batch."""

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.train import train_run

from .conftest import tiny_config


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    one = tiny_config(tokens=8 * 32 * 12, eval_every=6, checkpoint_every=6)
    two = tiny_config(tokens=8 * 32 * 12, eval_every=6, checkpoint_every=6, nproc=2)
    events = []
    single = train_run(one, tmp_path / "one")
    parallel = train_run(two, tmp_path / "two", progress=events.append)
    assert parallel.status == "done"
    assert [e.step for e in events] == list(range(1, 13))  # relayed from rank 0
    a, b = np.array(single.curve, dtype=float), np.array(parallel.curve, dtype=float)
    np.testing.assert_array_equal(a[:, [0, 1, 4]], b[:, [0, 1, 4]])
    np.testing.assert_allclose(b[:, 2], a[:, 2], rtol=1e-4)  # reduction order differs
    assert parallel.loss == pytest.approx(single.loss, rel=1e-4)
    assert (tmp_path / "two" / "checkpoint.pt").exists()


def test_wrong_world_size_is_input_error(tmp_path, monkeypatch):
    import torch.distributed as dist

    from distillscale.train import trainer

    monkeypatch.setattr(trainer, "_rank_world", lambda: (0, 3))
    assert not dist.is_initialized()
    with pytest.raises(InputError, match="nproc") as info:
        trainer._train(tiny_config(), tmp_path, store=None, progress=None)
    from distillscale.cli.errors import cli_message

    # RunConfig's nproc for a Python caller, the train flag on the command line
    tail = "the run asks for 1 processes but 3 are running; launch with torchrun --nproc-per-node 1"
    assert str(info.value) == f"nproc=1: {tail} or set nproc=3"
    assert cli_message(info.value) == f"--nproc 1: {tail} or pass --nproc 3"
