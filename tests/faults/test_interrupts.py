"""Ctrl-C (SIGINT) and SIGTERM: exit 130/143 with one line, a checkpoint, an uncounted attempt.

Before the fix ``fit``, ``train`` and ``run`` exited 0 with nothing on stderr when interrupted
(typer returned 130 and ``cli.main`` dropped it), ``train`` lost every step since its last
periodic checkpoint, and a study attempt cut short by the signal counted against
``max_attempts``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .helpers import synthetic_runs_csv

#: The one line on stderr of an interrupted command (``distillscale.cli.INTERRUPTED_MESSAGE``).
INTERRUPTED_MESSAGE = "interrupted: rerun to resume"

#: Runs the CLI like the console script does (``python -c`` has no main file for spawn to rerun).
CLI = [sys.executable, "-c", "import sys; from distillscale.cli import run; sys.exit(run())"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


def _wait_for(predicate, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, "the command ended before it could be interrupted"
        assert time.monotonic() < deadline, "timed out waiting for the command to start work"
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def _tiny_config(**kw):
    import torch

    from distillscale.flops import family_shape
    from distillscale.train import DataConfig, RunConfig

    torch.set_num_threads(1)
    return RunConfig(
        kind="single",
        shape=family_shape(1, aspect=32, head_dim=32, seq_len=32),
        tokens=8 * 32 * 40,
        batch_size=8,
        lr=1e-2,
        data=DataConfig(max_corpus_bytes=1_000_000, val_fraction=0.2),
        eval_every=10,
        eval_tokens=2048,
        checkpoint_every=0,  # no periodic checkpoint: only the interrupt can write one
        device="cpu",
        **kw,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_train_run_saves_the_interrupted_step_and_resumes_to_the_same_curve(
    tmp_path: Path, sig: int
) -> None:
    import torch

    from distillscale.train import train_run

    config = _tiny_config()
    reference = train_run(config, tmp_path / "ref")

    def signal_at_step_13(event) -> None:
        if event.step == 13:
            os.kill(os.getpid(), sig)

    with pytest.raises(KeyboardInterrupt) as stopped:  # distillscale.interrupts.Interrupted
        train_run(config, tmp_path / "cut", progress=signal_at_step_13)
    assert getattr(stopped.value, "signum", None) == sig
    assert getattr(stopped.value, "exit_status", None) == 128 + sig
    state = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 13 and state["result"] is None
    resumed = train_run(config, tmp_path / "cut")
    assert resumed.curve == reference.curve  # every step once, bit-exact on CPU
    assert resumed.loss == reference.loss
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_fit_interrupted_exits_130_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    argv = [
        "fit",
        str(synthetic_runs_csv(tmp_path)),
        "--law",
        "chinchilla",
        "--bootstrap",
        "100000",
    ]
    proc = subprocess.Popen(
        [*CLI, *argv, "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    time.sleep(6.0)  # imports and the first fits; 100,000 resamples take minutes
    assert proc.poll() is None
    code, err = _stop(proc, signal.SIGINT)
    assert code == 130
    assert err == INTERRUPTED_MESSAGE + "\n"
    assert not out.exists()


TRAIN = [
    "train", "--depth", "1", "--tokens", "200000", "--seq-len", "16", "--batch-size", "4",
    "--eval-tokens", "256", "--max-corpus-bytes", "1000000", "--val-fraction", "0.3",
    "--checkpoint-every", "400", "--device", "cpu",
]  # fmt: skip


@pytest.mark.slow
def test_train_cli_sigint_checkpoints_and_the_rerun_resumes_to_the_same_curve(
    tmp_path: Path,
) -> None:
    import torch

    work = tmp_path / "cut"
    proc = subprocess.Popen(
        [*CLI, *TRAIN, "--workdir", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    _wait_for((work / "checkpoint.pt").exists, proc)  # step 400: training is under way
    time.sleep(1.0)
    code, err = _stop(proc, signal.SIGINT)
    assert code == 130
    assert err.strip().splitlines()[-1] == INTERRUPTED_MESSAGE
    assert "Traceback" not in err
    cut = torch.load(work / "checkpoint.pt", weights_only=True)
    steps = 200000 // (4 * 16)
    assert 400 < cut["step"] < steps and cut["result"] is None  # the interrupted step, not 400
    run = lambda workdir: subprocess.run(  # noqa: E731
        [*CLI, *TRAIN, "--workdir", str(workdir)], capture_output=True, env=ENV, timeout=900
    )
    assert run(work).returncode == 0
    assert run(tmp_path / "ref").returncode == 0
    final = torch.load(work / "checkpoint.pt", weights_only=True)
    ref = torch.load(tmp_path / "ref" / "checkpoint.pt", weights_only=True)
    assert final["curve"][: cut["step"]] == cut["curve"]
    assert final["curve"] == ref["curve"] and len(ref["curve"]) == steps
    assert final["result"]["loss"] == ref["result"]["loss"]


SPEC = {
    "name": "sigterm",
    "data": {"seq_len": 32, "max_corpus_bytes": 1000000, "val_fraction": 0.1},
    "model": {"aspect": 16, "head_dim": 16},
    "teachers": {"depths": [1, 2], "tokens_per_param": [0.5]},
    "students": {"depths": [1], "tokens": [40960]},
    "baselines": {"match": "tokens"},
    "training": {"batch_size": 4, "eval_tokens": 1024, "checkpoint_every": 100000},
    "executor": {"workers": 2, "lease_seconds": 5, "max_attempts": 1},
    "fit": {"enabled": False},
    "plan": {"enabled": False},
    "report": False,
    "throughput": 1e9,
}


def _store_rows(study: Path) -> dict[str, tuple[str, int, str | None]]:
    with sqlite3.connect(study / "store.sqlite") as conn:
        rows = conn.execute("SELECT run_id, status, attempts, failure_reason FROM runs")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_study_resumes_without_counting_or_retraining(tmp_path: Path, sig: int) -> None:
    """Stop ``distillscale run`` while runs train; rerun; nothing is lost or counted twice.

    ``max_attempts: 1`` and ``checkpoint_every`` larger than any run: a counted interrupted
    attempt would leave its run failed for good, and only the interrupt writes checkpoints.
    """
    import torch

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    study = tmp_path / "study"
    argv = [*CLI, "run", str(spec), "--out", str(study)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    # both logit caches built: students (320 steps) and a baseline are training now
    _wait_for(lambda: len(list(study.glob("caches/*.logits.json"))) == 2, proc)
    time.sleep(1.0)
    code, err = _stop(proc, sig)
    assert code == 128 + sig
    assert err.strip().splitlines()[-1] == INTERRUPTED_MESSAGE
    assert "Traceback" not in err
    finished = {p.parent.name for p in study.glob("runs/*/result.json")}
    rows = _store_rows(study)
    cut = {run for run, (status, _, why) in rows.items() if why and why.startswith("interrupted")}
    assert cut, rows  # some run was training when the signal came
    for run in cut:
        assert rows[run][1] == 0  # the attempt was given back
        checkpoint = study / "runs" / run / "checkpoint.pt"
        if checkpoint.exists():  # a cache has none; a run saved the step it was on
            assert torch.load(checkpoint, weights_only=True)["step"] > 0
    saved = {
        p.parent.name: torch.load(p, weights_only=True)["step"]
        for p in study.glob("runs/*/checkpoint.pt")
        if p.parent.name not in finished
    }
    assert saved and min(saved.values()) > 0

    again = subprocess.run(argv, capture_output=True, env=ENV, timeout=900)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    rows = _store_rows(study)
    assert {status for status, _, _ in rows.values()} == {"done"}
    assert {attempts for _, attempts, _ in rows.values()} == {1}  # no attempt counted twice
    for run in finished:  # finished before the signal: never trained again
        assert (study / "runs" / run / "attempts.log").read_text().count("start") == 1
    for run, step in saved.items():  # resumed from the saved step: its curve starts with it
        final = torch.load(study / "runs" / run / "checkpoint.pt", weights_only=True)
        assert final["result"] is not None and final["step"] > step
