import errno
import math
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.flops import count_params, forward_flops_per_token
from distillscale.study.messages import study_message
from distillscale.train import train_run
from distillscale.train.data import load_corpus, unigram_entropy
from distillscale.train.trainer import CHECKPOINT, lr_at

from .conftest import DATA, tiny_config


class Stop(Exception):
    pass


def _stop_at(step):
    def progress(event):
        if event.step == step:
            raise Stop

    return progress


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    config = tiny_config(checkpoint_every=10)
    return config, train_run(config, tmp_path_factory.mktemp("ref"))


def test_run_learns_and_reports(reference):
    config, result = reference
    assert result.status == "done" and result.failure_reason is None
    assert result.tokens == config.steps * config.tokens_per_step == 7680
    counts = count_params(config.shape)
    assert (result.params, result.params_total) == (counts.non_embedding, counts.total)
    assert result.flops.supervised_training == 3 * forward_flops_per_token(config.shape) * 7680
    assert result.flops.teacher_inference == 0
    assert len(result.curve) == config.steps
    assert [p[0] for p in result.curve] == list(range(1, config.steps + 1))
    assert result.loss == result.curve[-1][3]
    # well below the uniform guess ln(256) = 5.55 after a few hundred steps-worth of tokens
    assert result.loss < 4.0
    assert result.tokens_per_second > 0 and result.mfu is None


def test_resume_after_stop_gives_identical_curve(reference, tmp_path):
    config, full = reference
    with pytest.raises(Stop):
        train_run(config, tmp_path, progress=_stop_at(17))  # last checkpoint: step 10
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert state["step"] == 10
    resumed = train_run(config, tmp_path)
    assert resumed.curve == full.curve  # bit-exact on CPU
    assert resumed.loss == full.loss


@pytest.mark.slow  # a fresh interpreter imports torch: ~20 s on a loaded 2-core machine
def test_resume_after_sigkill_gives_identical_curve(reference, tmp_path):
    config, full = reference
    script = textwrap.dedent(
        f"""
        import os, signal, json, torch
        torch.set_num_threads(1)
        from distillscale.train import RunConfig, train_run
        config = RunConfig.from_dict(json.loads({config.canonical_json()!r}))
        def progress(event):
            if event.step == 23:
                os.kill(os.getpid(), signal.SIGKILL)
        train_run(config, {str(tmp_path)!r}, progress=progress)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["step"] == 20
    resumed = train_run(config, tmp_path)
    assert resumed.curve == full.curve


def test_finished_run_is_not_trained_again(reference, tmp_path):
    config, _ = reference
    first = train_run(config, tmp_path)
    calls = []
    again = train_run(config, tmp_path, progress=calls.append)
    assert calls == [] and again.loss == first.loss and again.curve == first.curve
    assert again.tokens_per_second == first.tokens_per_second > 0


def test_checkpoint_write_error_keeps_previous_checkpoint(tmp_path, monkeypatch):
    config = tiny_config(checkpoint_every=10)
    import distillscale.train.trainer as trainer

    real_save = torch.save
    calls = []

    def save(obj, fh):
        calls.append(fh)
        if len(calls) == 2:
            fh.write(b"partial")  # a partial write, then the disk is full: torch's writer
            try:  # turns the file's OSError into a RuntimeError, as it does on a full disk
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError:
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")  # noqa: B904  as torch does
        real_save(obj, fh)

    monkeypatch.setattr(trainer.torch, "save", save)
    result = train_run(config, tmp_path)
    assert result.status == "failed"
    assert result.failure_reason == (
        f"disk full: no space left on device writing {tmp_path / CHECKPOINT}; free space and rerun"
    )
    monkeypatch.setattr(trainer.torch, "save", real_save)
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert state["step"] == 10  # the previous checkpoint, intact
    assert sorted(os.listdir(tmp_path)) == [CHECKPOINT]  # no temporary file left


def test_divergence_ends_run_as_failed(tmp_path):
    config = tiny_config(lr=30.0, grad_clip=0.0, warmup_steps=0)
    result = train_run(config, tmp_path)
    assert result.status == "failed"
    assert "diverged" in result.failure_reason or "not finite" in result.failure_reason
    assert result.loss is None and len(result.curve) < config.steps


def test_checkpoint_of_another_run_is_refused(reference, tmp_path):
    config, _ = reference
    with pytest.raises(Stop):
        train_run(config, tmp_path, progress=_stop_at(10))
    with pytest.raises(InputError, match="belongs to run") as info:
        train_run(tiny_config(seed=5), tmp_path)
    # train_run's argument, the train flag, and in a study (which chooses workdirs) the checkpoint
    assert str(info.value).endswith("; use another workdir or delete that checkpoint")
    assert cli_message(info.value).endswith("; use another --workdir or delete that checkpoint")
    study = study_message(info.value, tiny_config(seed=5))
    assert study.endswith("; delete that checkpoint (a study gives each run its workdir)")


def test_checkpoints_load_safely(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / CHECKPOINT
    path.write_bytes(pickle.dumps({"model": Evil(), "config": {}}, protocol=2))
    from distillscale.train import load_teacher

    with pytest.raises(InputError, match="cannot be read"):
        load_teacher(path)


def test_vocab_mismatch_is_input_error(tmp_path):
    from distillscale.flops import family_shape

    shape = family_shape(1, aspect=32, head_dim=32, seq_len=32, vocab_size=300)
    with pytest.raises(InputError) as info:
        train_run(tiny_config(shape=shape), tmp_path)
    tail = "the model has 300 tokens but data 'stdlib' with tokenizer 'byte' has 256"
    # the RunConfig field for a Python caller, the train flag on the command line
    assert str(info.value) == f"shape.vocab_size: {tail}; use shape.vocab_size=256"
    assert cli_message(info.value) == f"--vocab: {tail}; use --vocab 256"
    assert list(tmp_path.iterdir()) == []


def test_memory_and_context_errors_name_the_field_the_flag_and_the_spec_key(tmp_path, monkeypatch):
    """The same error in the words of each caller: RunConfig, ``train`` flags, study spec."""
    from distillscale.flops import family_shape
    from distillscale.runs.config import KDConfig, TeacherRef
    from distillscale.train import check_run, trainer

    monkeypatch.setattr(trainer, "_physical_memory", lambda: 1024)
    config = tiny_config()
    with pytest.raises(InputError, match="GiB of memory") as info:
        check_run(config)
    assert str(info.value).endswith("; choose a smaller shape or batch_size")
    assert cli_message(info.value).endswith("; choose a smaller model or --batch-size")
    study = study_message(info.value, config)
    assert study.endswith("; choose smaller depths or a smaller training.batch_size")
    monkeypatch.undo()

    (tmp_path / "checkpoint.pt").write_bytes(b"not read: the context is checked first")
    teacher = TeacherRef(
        checkpoint=str(tmp_path / "checkpoint.pt"),
        shape=family_shape(1, aspect=32, head_dim=32, seq_len=16),
        run_id="0" * 16,
    )
    config = tiny_config(kind="student", teacher=teacher, kd=KDConfig())
    with pytest.raises(InputError, match="context 16 tokens is shorter") as info:
        check_run(config)
    assert str(info.value).endswith("seq_len 32; use shape.seq_len <= 16")
    assert cli_message(info.value).endswith("seq_len 32; use --seq-len <= 16")
    assert study_message(info.value, config).endswith("seq_len 32; use data.seq_len <= 16")


def test_lr_schedules():
    config = tiny_config(tokens=8 * 32 * 100, warmup_steps=10, min_lr_ratio=0.1, lr=1.0)
    lrs = [lr_at(config, s) for s in range(100)]
    assert lrs[0] == pytest.approx(1 / 11) and lrs[9] == pytest.approx(10 / 11)
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    wsd = tiny_config(
        tokens=8 * 32 * 100, warmup_steps=0.1, schedule="wsd", decay_fraction=0.2, lr=1.0
    )
    lrs = [lr_at(wsd, s) for s in range(100)]
    assert lrs[10:80] == [1.0] * 70
    assert lrs[-1] == pytest.approx(wsd.min_lr_ratio)
    assert lrs[80] < 1.0


def test_mfu_from_peak_flops(tmp_path):
    config = tiny_config(tokens=8 * 32 * 3, peak_flops=1e9, eval_every=0)
    result = train_run(config, tmp_path)
    per_token = 3 * forward_flops_per_token(config.shape)
    assert result.mfu == pytest.approx(per_token * result.tokens_per_second / 1e9)


def test_unigram_entropy_of_default_corpus_is_far_above_a_trained_model(reference):
    corpus = load_corpus(DATA)
    h = unigram_entropy(corpus.val, 256)
    assert 3.0 < h < 4.0
    assert math.isfinite(reference[1].loss)
